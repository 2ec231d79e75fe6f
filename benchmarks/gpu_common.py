"""What both GPU benchmarks share: the card's measured bf16 matrix rate (the MFU denominator), timing, OOM-safe runs.

MFU here is model FLOPs (counted from the shapes, recomputation not counted) per second over the rate of an
8192 x 8192 x 8192 bf16 matrix product measured in the same process, so it is relative to what this card and
library reach, not to a datasheet.
"""
from __future__ import annotations

import gc
import time

import torch


def matmul_rate(n: int = 8192, repeats: int = 10) -> float:
    """TFLOP/s of an n³ bf16 matrix product on random data (mean of `repeats` after 3 warm-ups); on the CPU, fp32
    at n = 1024 (a reference for --quick runs only)."""
    gpu = torch.cuda.is_available()
    n = n if gpu else 1024
    dtype = torch.bfloat16 if gpu else torch.float32
    a = torch.randn(n, n, device="cuda" if gpu else "cpu", dtype=dtype)
    b = torch.randn(n, n, device=a.device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync()
    return 2 * n ** 3 * repeats / (time.perf_counter() - t0) / 1e12


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def free() -> None:
    """Give back what the last variant held, so the next one's peak memory is its own."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gb() -> float:
    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else float("nan")


def device_name() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} ({torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB)"
    return f"CPU ({torch.get_num_threads()} threads)"


def guarded(name: str, fn):
    """fn() or None if it ran out of memory or failed (the message is printed), so one variant's failure leaves
    the others' numbers standing."""
    try:
        return fn()
    except torch.OutOfMemoryError:
        print(f"  {name}: out of GPU memory", flush=True)
    except Exception as err:  # a failed variant (e.g. a compiler error) must not hide the others
        print(f"  {name}: failed: {type(err).__name__}: {str(err)[:400]}", flush=True)
    finally:
        free()
    return None
