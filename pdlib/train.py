"""Distillation training: one loop, two students (Used in 04_distill, 06_domain_adapt; §3, §4.2, Table 7).

    L = L_CL + λ_KD·L_KD + λ_pair·L_pair    (supervised)      L_ZS = L_KD + λ_pair·L_pair    (use_cl=False)

The two students — ColBERT (colbert-ai's module, saved in its checkpoint format) and DPR (a
sentence-transformers dual encoder) — are built by pdlib.students.

A training *job* is a folder: `job.json` (the config and where the examples are), `state.pt` (the last
checkpoint: weights, optimizer, scheduler, RNG, step, loss log), then `model/` (the trained student) and
`log.csv` (the loss components per step). `run(folder)` resumes from `state.pt` if there is one; the data
order depends only on (seed, step), so a resumed run ends at the same weights as an uninterrupted one.

Launch: in a notebook, `train.train_student(config, examples, dataset)` (a cached stage: the job folder is
its key's folder); from a shell, on any number of GPUs (data-parallel, each rank takes its slice of every batch):

    torchrun --nproc_per_node 8 -m pdlib.train data/train/<job folder>      # or: python -m pdlib.train <job>

On a GPU the forward pass and the losses run under bf16 autocast (fp32 master weights and optimizer; bf16 needs
no loss scaling); on the CPU everything stays fp32. `micro_batch` cuts each rank's queries into micro-batches
whose gradients accumulate before the one optimizer step (`accumulate`), and `grad_checkpointing` recomputes
activations in the backward pass: the paper's batch of 32 queries x 64 passages x 180 tokens then fits one
80 GB GPU (bf16, 8 queries a micro-batch; 16 take about 78 GB), and on N GPUs each rank takes 32/N queries in
micro-batches, so the effective batch stays micro_batch x accumulation steps x N = batch_size. In-batch
negatives stay inside a micro-batch (the authors' ColBERT training accumulates 2 steps the same way). On a GPU
the student's encoder is also compiled (`compile`, students.compile_encoders): Table 7's step at micro-batches
of 16 ran 49.5 queries/s on an H200 against 46.4 eager.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd
import torch

from . import Interrupted, PdlibError, cache, losses, md2pr, paths, students
from .atomic import atomic_path, read_json, write_json
from .batches import Batch, Examples  # noqa: F401 (pdlib.train.Batch / Examples, as 04_distill calls them)


@dataclass
class TrainConfig:
    student: str = "dpr"              # dpr | colbert
    init: str = "tiny/bi-encoder"     # model id (pdlib.models) or folder the student starts from
    steps: int = 200                  # optimizer steps (Table 7: 100k)
    batch_size: int = 8               # queries per step (Table 7: 32)
    n_passages: int = 16              # passages per query, pointwise order (Table 7: 64)
    lr: float = 1e-5                  # AdamW (Table 7: 1e-5)
    weight_decay: float = 0.0         # AdamW's (authors: 0, transformers' AdamW default; torch's default is 0.01)
    warmup: int = 0                   # linear warm-up steps, then linear decay to 0
    temperature: float = 1.0          # τ of P_point (Table 7: 1.0)
    lambda_kd: float = 1.0            # λ_KD (Table 7: 1.0)
    lambda_pair: float = 3.0          # λ_pair (Table 7: 3.0)
    use_cl: bool = True               # L_CL with the labelled positive; False: L_ZS (§4.2, zero-shot)
    in_batch: bool = True             # L_CL: labelled positive vs the other queries' passages (the authors' ColBERT
                                      # in-batch negatives); False: vs the query's own list (an option)
    doc_maxlen: int = 180             # passage tokens (Table 7: 180)
    query_maxlen: int = 32            # query tokens (Table 7: 32)
    checkpoint_every: int = 50        # steps between checkpoints (state.pt)
    max_grad_norm: float = 2.0        # gradient clipping, as colbert-ai's trainer
    seed: int = 0
    # added later: left out of cache keys and job comparisons while at their defaults (cache.added_field)
    micro_batch: int | None = cache.added_field(None)   # queries per forward/backward on each rank; None: all
    grad_checkpointing: bool = cache.added_field(False)  # recompute activations in backward: less memory
    compile: bool = cache.added_field(True)  # torch.compile the student's encoder on a GPU (the CPU stays eager)
    # MD2PR (07_beyond, pdlib.md2pr): word-level distillation from a cross-encoder's attention, and dynamic
    # false-negative filtering of L_CL's own-list negatives (threshold: batch positives' teacher mean − margin)
    lambda_word: float = cache.added_field(0.0)
    word_teacher: str | None = cache.added_field(None)
    fn_margin: float | None = cache.added_field(None)

    def __post_init__(self):
        if self.student not in ("dpr", "colbert"):
            raise PdlibError(f"student must be 'dpr' or 'colbert', got {self.student!r}")
        for name in ("steps", "batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise PdlibError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.micro_batch is not None and self.micro_batch < 1:
            raise PdlibError(f"micro_batch must be at least 1 query (or None for the whole batch), got {self.micro_batch}")
        if self.n_passages < 2:
            raise PdlibError(f"n_passages must be at least 2 (a positive and a negative), got {self.n_passages}")
        if not self.use_cl and not (self.lambda_kd or self.lambda_pair or self.lambda_word):
            raise PdlibError("nothing to train: use_cl=False with lambda_kd = lambda_pair = 0")
        if self.lambda_word and (self.student != "dpr" or not self.word_teacher):
            raise PdlibError("lambda_word (MD2PR's word level) needs student='dpr' and a word_teacher (a cross-encoder "
                             f"id); got student={self.student!r}, word_teacher={self.word_teacher!r}")
        if self.fn_margin is not None and (self.in_batch or not self.use_cl):
            raise PdlibError("fn_margin filters L_CL's negatives in the query's own list: set in_batch=False (and "
                             "keep use_cl=True)")

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise PdlibError(f"unknown training options {unknown}: known are {sorted(known)}")
        return cls(**values)


def make_student(cfg: TrainConfig, device: str = "cpu") -> torch.nn.Module:
    """The student a training configuration trains (pdlib.students), as the loop builds it."""
    student = students.make_student(cfg.student, cfg.init, cfg.doc_maxlen, cfg.query_maxlen, device)
    if cfg.grad_checkpointing:
        students.use_checkpointing(student)
    if cfg.compile and torch.device(device).type == "cuda":
        students.compile_encoders(student)
    return student


def batch_loss(student, batch: Batch, cfg: TrainConfig, shares: tuple[float, float, float] = (1.0, 1.0, 1.0)
               ) -> dict[str, torch.Tensor]:
    """L = L_CL + λ_KD·L_KD + λ_pair·L_pair of one batch (every term from pdlib.losses.total_loss).

    The student scores each query's L passages (B, L); with in-batch negatives (`cfg.in_batch`, the authors'
    ColBERT training) also every passage of the batch (B, B·L), and L_CL contrasts the labelled positive with
    the other queries' passages; without, with the query's own list. Queries without a labelled positive
    (`batch.positive` = −1) have no L_CL term; `use_cl=False` is L_ZS. Returns {'loss', 'cl', 'kd', 'pair',
    'scores'} ('scores': the (B, L) student scores, detached, for display). `shares` (cl, kd, pair) weigh the
    terms inside 'loss' (a micro-batch's share of the batch, from `accumulate`); the parts stay unweighted."""
    n = len(batch.docs) // len(batch.queries)
    if cfg.lambda_word:
        Q, D, token_outputs = student.encode(batch.queries, batch.docs, tokens=True)
    else:
        Q, D = student.encode(batch.queries, batch.docs)
    s = student.scores(Q, D, n)
    dev = s.device
    s_all = student.scores(Q, D, n, all_pairs=True) if cfg.use_cl and cfg.in_batch else None
    teacher = batch.teacher.to(dev)
    negatives = None
    if cfg.fn_margin is not None:
        negatives = ~md2pr.false_negatives(teacher, batch.positive.to(dev), cfg.fn_margin)
    out = losses.total_loss(s, teacher, batch.pair_i.to(dev), batch.pair_j.to(dev),
                            batch.pair_probs.to(dev), batch.pair_mask.to(dev),
                            positive=batch.positive.to(dev) if cfg.use_cl else None, temperature=cfg.temperature,
                            lambda_kd=cfg.lambda_kd * shares[1], lambda_pair=cfg.lambda_pair * shares[2],
                            lambda_cl=shares[0], in_batch_scores=s_all,
                            doc_mask=None if batch.doc_mask is None else batch.doc_mask.to(dev),
                            negative_mask=negatives)
    if cfg.lambda_word:
        word = md2pr.batch_word_loss(token_outputs, n, student.tokenizer, cfg.word_teacher)
        out["loss"] = out["loss"] + cfg.lambda_word * shares[1] * word
        out["word"] = word.detach()
    return {**out, "scores": s.detach()}


def autocast(device: torch.device | str):
    """bf16 autocast on a GPU (weights, gradients and optimizer stay fp32; bf16 needs no GradScaler); on the CPU
    no autocast, so CPU training is fp32 exactly as before."""
    if torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def accumulate(student, batch: Batch, cfg: TrainConfig, bf16: bool | None = None) -> dict[str, torch.Tensor]:
    """Forward and backward of one batch, in micro-batches of `cfg.micro_batch` queries whose gradients add up
    in `.grad` (the caller zeroes them before and steps after). Returns the batch's logged parts (weighted sums
    of the micro-batches' 'loss', 'cl', 'kd', 'pair') and the last micro-batch's 'scores'.

    Each term is scaled by the micro-batch's share of what the whole batch averages over — queries for L_KD,
    queries with a labelled positive for L_CL, sampled pairs for L_pair — so with in-batch negatives off the
    accumulated gradient equals the whole batch's (tests/test_accumulation.py). With in-batch negatives on,
    a micro-batch's L_CL sees only its own queries' passages as negatives (as the authors' ColBERT training,
    which accumulates 2 steps of 16 queries): fewer negatives than one pass over the batch, so it differs.
    bf16: autocast the forward pass and losses (None: on a GPU only)."""
    device = next(student.parameters(), torch.empty(0)).device
    context = autocast(device) if bf16 is None else (autocast("cuda") if bf16 else contextlib.nullcontext())
    size = cfg.micro_batch or len(batch)
    if size >= len(batch):  # one pass: exactly the whole-batch step (no shares, the same arithmetic)
        with context:
            parts = batch_loss(student, batch.to(device), cfg)
        parts["loss"].backward()
        return {k: v.detach() for k, v in parts.items()}
    has_positive = max(1, int((batch.positive >= 0).sum()))
    n_pairs = max(1, int(batch.pair_mask.sum()))
    micros = [(m.to(device), (int((m.positive >= 0).sum()) / has_positive, len(m) / len(batch),
                              int(m.pair_mask.sum()) / n_pairs)) for m in batch.split(size)]  # shares on the host
    total = {}
    for micro, shares in micros:
        with context:  # in-batch negatives (cfg.in_batch): this micro-batch's passages only
            parts = batch_loss(student, micro, cfg, shares)
        parts["loss"].backward()  # frees this micro-batch's activations before the next one runs
        for k, w in (("loss", 1.0), ("cl", shares[0]), ("kd", shares[1]), ("pair", shares[2]), ("word", shares[1])):
            if k in parts:
                total[k] = total.get(k, 0.0) + w * parts[k].detach().float()
        total["scores"] = parts["scores"]
    return total


def train_step(student, optimizer, scheduler, batch: Batch, cfg: TrainConfig, world: int = 1,
               bf16: bool | None = None) -> dict[str, float]:
    """One optimizer step on this rank's `batch`: accumulate, average gradients over the ranks, clip, step.
    Returns the logged parts as floats (the one host synchronisation of a step). benchmarks/train_step.py
    times exactly this."""
    optimizer.zero_grad(set_to_none=True)
    parts = accumulate(student, batch, cfg, bf16)
    if world > 1:
        for p in student.parameters():
            if p.grad is not None:
                torch.distributed.all_reduce(p.grad)
                p.grad /= world
    torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.max_grad_norm)
    optimizer.step()
    scheduler.step()
    return {k: float(parts[k]) for k in ("loss", "cl", "kd", "pair", "word") if k in parts}


# --- the loop: resume, step, finish ---------------------------------------------------------------------
def _schedule(optimizer, cfg: TrainConfig):
    def factor(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        return max(0.0, (cfg.steps - step) / max(1, cfg.steps - cfg.warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _save_state(folder: Path, student, optimizer, scheduler, step: int, log: list[dict]) -> None:
    with atomic_path(folder / "state.pt") as tmp:
        torch.save({"model": student.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                    "python_rng": list(random.getstate()[1]), "step": step, "log": log}, tmp)


def _dist():
    """(rank, world size); initialises torch.distributed when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return int(os.environ.get("RANK", "0")), world


def make_job(folder: Path, cfg: TrainConfig, examples_path: Path, dataset: str) -> Path:
    """Write `job.json` (atomically): the config, the examples parquet (a path relative to the cache root when
    it lies inside, so a moved cache keeps its jobs) and the dataset whose texts and qrels they refer to."""
    folder = Path(folder)
    job = {"config": asdict(cfg), "examples": paths.to_cache(examples_path), "dataset": dataset}
    if (folder / "job.json").exists():
        old = read_json(folder / "job.json")
        old["config"] = asdict(TrainConfig.from_dict(old["config"]))  # a job written before a field was added
        if old != job:
            differ = sorted(k for k in set(old["config"]) | set(job["config"])
                            if old["config"].get(k) != job["config"].get(k))
            differ += [k for k in ("examples", "dataset") if old.get(k) != job[k]]
            raise PdlibError(f"{folder} holds another training job (differs in {differ}); delete it or use a new folder")
    else:
        write_json(folder / "job.json", job)
    return folder


def _resume(folder: Path, cfg: TrainConfig, device: str):
    """The student, optimizer and scheduler, at the last checkpoint if there is one: (…, step, log)."""
    student = make_student(cfg, device)  # data-parallel: gradients are averaged over ranks in _step
    torch.manual_seed(cfg.seed)          # after loading: the RNG draws of a model load are not reproducible
    random.seed(cfg.seed)
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = _schedule(optimizer, cfg)
    step, log = 0, []
    if (folder / "state.pt").exists():
        state = torch.load(folder / "state.pt", map_location=device, weights_only=True)
        student.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"].cpu())
        if state["cuda_rng"]:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        random.setstate((3, tuple(state["python_rng"]), None))
        step, log = state["step"], state["log"]
    return student, optimizer, scheduler, step, log


def _step(student, optimizer, scheduler, ex: Examples, cfg: TrainConfig, step: int, rank: int, world: int) -> dict:
    """One optimizer step on batch `step` (this rank's slice); returns the logged row."""
    rows = ex.order(cfg.seed, step, cfg.batch_size)[rank::world]
    parts = train_step(student, optimizer, scheduler, ex.batch(rows), cfg, world)
    return {"step": step + 1, **parts, "lr": scheduler.get_last_lr()[0]}


def _finish(folder: Path, student, log: list[dict], ex: Examples, step: int) -> Path:
    """Write log.csv and the trained student (atomically, `done` last)."""
    pd.DataFrame(log).to_csv(folder / "log.csv", index=False)
    with atomic_path(folder / "model") as tmp:
        student.eval()
        student.save(tmp)
        (tmp / "done").write_text(json.dumps({"steps": step, "examples": len(ex), "dropped": ex.dropped}))
    return folder / "model"


def run(folder: Path, stop_after: int | None = None, progress: bool = True) -> Path | None:
    """Train the job in `folder` (resuming from its last checkpoint); returns the model folder, or None if
    stopped early by `stop_after` (steps done in this call, for tests and time-boxed sessions)."""
    from tqdm.auto import tqdm

    folder = Path(folder)
    if (folder / "model" / "done").exists():
        return folder / "model"
    job = read_json(folder / "job.json")
    cfg = TrainConfig.from_dict(job["config"])
    rank, world = _dist()
    if cfg.batch_size % world:
        raise PdlibError(f"batch_size {cfg.batch_size} is not divisible by the {world} data-parallel ranks")
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    ex = Examples.load(paths.from_cache(job["examples"]), job["dataset"], cfg.n_passages, students.passage_style(cfg.student))
    student, optimizer, scheduler, step, log = _resume(folder, cfg, device)
    student.train()
    bar = tqdm(total=cfg.steps, initial=step, desc=f"train {cfg.student}", disable=not progress or rank > 0)
    try:
        for done_here in range(1, cfg.steps - step + 1):
            row = _step(student, optimizer, scheduler, ex, cfg, step, rank, world)
            step = row["step"]
            log.append(row)
            bar.update(1)
            bar.set_postfix({k: f"{row[k]:.3f}" for k in ("loss", "cl", "kd", "pair")})
            if rank == 0 and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
                _save_state(folder, student, optimizer, scheduler, step, log)
            if stop_after is not None and done_here >= stop_after and step < cfg.steps:
                return None
    except KeyboardInterrupt:
        saved = (step // cfg.checkpoint_every) * cfg.checkpoint_every
        raise Interrupted(f"training stopped at step {step} of {cfg.steps}; run the cell again to resume from "
                          f"the checkpoint at step {saved}") from None
    finally:
        bar.close()
    model = _finish(folder, student, log, ex, step) if rank == 0 else folder / "model"
    if world > 1:
        torch.distributed.barrier()
    return model


def train(folder: Path, cfg: TrainConfig, examples_path: Path, dataset: str, progress: bool = True) -> Path:
    """make_job + run in a folder of your choice (tests, scripts); notebooks call the `train_student` stage."""
    make_job(folder, cfg, examples_path, dataset)
    return run(folder, progress=progress)


@cache.stage("train", "model", model="cfg.init", dataset="dataset", ignore=("progress",))
def train_student(cfg: TrainConfig, examples: cache.Artifact, dataset: str, workdir: Path,
                  progress: bool = True) -> None:
    """The student trained on `examples` (a cached stage: one folder per distinct configuration and examples;
    interrupted, it resumes from its last checkpoint). `.path` is the student's folder. Used in 04 and 06."""
    train(workdir, cfg, examples.path, dataset, progress=progress)


def student_for(retriever: str) -> str:
    """The student architecture a first-stage retriever is: colbert -> colbert, dense -> dpr (06)."""
    return "colbert" if retriever == "colbert" else "dpr"


def as_retriever(trained: cache.Artifact) -> tuple[str, str]:
    """(retriever, folder) that searches with a student made by `train_student` (05, 06)."""
    from .retrieve import retriever_of

    return retriever_of(trained.params["cfg"]["student"]), str(trained.path)


def read_log(trained: cache.Artifact | Path) -> pd.DataFrame:
    """The loss components per step of a training run (its job folder, or the trained student's Artifact)."""
    folder = trained.path.parent if isinstance(trained, cache.Artifact) else Path(trained)
    return pd.read_csv(folder / "log.csv")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run (or resume) a pdlib training job; torchrun for many GPUs.")
    parser.add_argument("job", type=Path, help="folder with job.json (written by pdlib.train.make_job)")
    args = parser.parse_args(argv)
    if not (args.job / "job.json").exists():
        parser.error(f"{args.job} has no job.json: create the job with pdlib.train.make_job (04_distill does)")
    print(run(args.job))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
