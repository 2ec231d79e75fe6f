#!/usr/bin/env bash
# Issue 17's GPU measurements in one go (about 5 minutes on one H100/H200; the timeouts below cap it at 7):
#   1. which SDPA kernels take an additive bias (T5's position bias) at the 3B attention shape, and their speed
#   2. benchmarks/train_step.py: the Table 7 ColBERT step, today's fp32 path vs bf16 + micro-batches
#   3. benchmarks/pairwise_scoring.py --size 3b: duoT5-3B-shaped scoring, today's path vs the fast paths
# Every number's MFU is against the bf16 matrix rate measured in the same process. Logs go to $OUT.
#
# Needs, beside the working tree (the device tool's `carry`): .whl (transformers 4.57.6, tokenizers 0.22.2,
# huggingface_hub 0.36.2: the machine's own transformers 5.x treats T5 differently) and
# data/bench/msmarco-dl19-mini (a copy of ../shared/data/msmarco-dl19-mini, for real prompt lengths).
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu17}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed: carry .whl"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD
DATA=data/bench/msmarco-dl19-mini
[ -f $DATA/corpus.jsonl ] || { echo "no $DATA: copy ../shared/data/msmarco-dl19-mini there and carry data/bench"; exit 1; }

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
  python3 -c "import sys, torch, transformers, tokenizers, huggingface_hub as h; print('python', sys.version.split()[0], \
'torch', torch.__version__, 'transformers', transformers.__version__, transformers.__file__, 'tokenizers', \
tokenizers.__version__, 'huggingface_hub', h.__version__)"
  timeout 45 python3 - <<'EOF'
import time, torch, torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
B, H, n, d = 128, 32, 160, 128  # duoT5-3B: 32 heads of 128, a 160-token bucket
q, k, v = (torch.randn(B, H, n, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
bias = torch.randn(B, H, n, n, device="cuda", dtype=torch.bfloat16)
ref = torch.softmax((q.float() @ k.float().transpose(-1, -2)) + bias.float(), -1) @ v.float()
for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH):
    try:
        with sdpa_kernel(backend):
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
            torch.cuda.synchronize(); t0 = time.perf_counter()
            for _ in range(20):
                F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
            torch.cuda.synchronize()
        err = ((out.float() - ref).norm() / ref.norm()).item()
        print(f"SDPA with additive bias, {backend.name:<20} ok   {(time.perf_counter() - t0) / 20 * 1e3:6.2f} ms  rel err {err:.1e}")
    except RuntimeError as e:
        print(f"SDPA with additive bias, {backend.name:<20} refused: {str(e).splitlines()[0][:100]}")
try:
    print("default choice:", SDPBackend(torch._fused_sdp_choice(q, k, v, bias, 0.0, False, scale=1.0)).name)
except Exception as e:  # a private function: its signature may move
    print("default choice: unknown", type(e).__name__)
EOF
} 2>&1 | tee "$OUT/env.txt"

timeout 120 python3 benchmarks/train_step.py 2>&1 | tee "$OUT/train_step.txt"
timeout 240 python3 benchmarks/pairwise_scoring.py --size 3b --pairs 4096 --batch-size 128 --big-batch 256 \
  --shared $DATA 2>&1 | tee "$OUT/pairwise_3b.txt"
echo "=== summary"
grep -h -E "^(device|fp32|bf16|best|today|fast|  the same|model|SDPA|default)" "$OUT"/env.txt "$OUT"/train_step.txt \
  "$OUT"/pairwise_3b.txt
