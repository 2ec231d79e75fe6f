"""A deterministic synthetic retrieval set for the offline `smoke` profile (Used in 01-06 through `synthetic/...` ids).

Built so that relevance is learnable and a cross-encoder teacher can beat a dual-encoder student:

* every document belongs to a *topic* (topic words) and carries two *bindings* — an attribute word
  immediately followed by an object word ("vemo kadu");
* a query names its topic (two topic words) and one binding "a o";
* relevance (graded): 2 = one of the query's topic words and the binding appears bound ("a o" adjacent);
  1 = a topic word and both binding words appear, but bound to other words ("a o2 ... a2 o");
  0 = anything else (not listed in qrels).

For each query the generator plants one grade-2 document and one or more grade-1 "swapped" documents
that contain the query's words in another arrangement (planted documents carry the query's two topic
words, so that word matching finds them). A bag-of-words dual encoder (mean of token
vectors, one vector per text) sees the two as nearly identical; a cross-encoder attending over query
and document together can tell them apart. Topic words make first-stage retrieval learnable.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import PdlibError, paths
from ..atomic import atomic_path, folder_lock
from ..data import register_local

GENERATOR_VERSION = 3  # bump when generate() changes: it is part of every synthetic set's id
_CONS, _VOWELS = "bdfgklmnprstvz", "aeiou"
# Words the T5 stand-ins must carry as single tokens (monoT5 true/false, LLM Yes/No and A/B prompts).
PROMPT_WORDS = ("Query", "Document", "Document0", "Document1", "Relevant", "true", "false", "Yes", "No",
                "A", "B", "Is", "the", "document", "relevant", "to", "query", "or", "Which", "more",
                "Answer", "only", "'A'", "'B'", "(Yes", "No)?", "is", "?", ".", ":")


@dataclass(frozen=True)
class SyntheticSpec:
    name: str = "smoke"
    seed: int = 0
    n_topics: int = 12
    words_per_topic: int = 8
    n_attributes: int = 16
    n_objects: int = 16
    n_filler: int = 24
    n_train: int = 240
    n_dev: int = 40
    n_test: int = 60
    swapped_per_query: int = 2   # grade-1 look-alikes planted per query
    background_per_topic: int = 20
    doc_topic_words: int = 4
    doc_filler_words: int = 3

    @property
    def digest(self) -> str:
        blob = json.dumps({**asdict(self), "generator": GENERATOR_VERSION}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]


def _pseudo_words(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        word = "".join(rng.choice(list(_CONS)) + rng.choice(list(_VOWELS)) for _ in range(int(rng.integers(2, 4))))
        if word not in taken:
            taken.add(word)
            out.append(word)
    return out


def _doc(rng, topic_words, bindings, n_topic, fillers, n_fill, must=()) -> str:
    rest = [w for w in topic_words if w not in must]
    units = [[w] for w in list(must) + list(rng.choice(rest, n_topic - len(must), replace=False))]
    units += [[w] for w in rng.choice(fillers, n_fill, replace=False)]
    units += [list(b) for b in bindings]
    order = rng.permutation(len(units))
    return " ".join(w for i in order for w in units[i])


def grade(query: tuple, doc_topic: int, doc_words: list[str]) -> int:
    """Relevance of a document (its topic, its words) to a query (topic, attribute, object[, topic words]).

    With the query's topic words given, the document must also contain one of them (generator version 3):
    relevance is then visible in the text alone, which a reranker can learn from a few thousand examples."""
    topic, attr, obj, *named = query
    if doc_topic != topic or attr not in doc_words or obj not in doc_words:
        return 0
    if named and not set(named[0]) & set(doc_words):
        return 0
    bound = any(a == attr and b == obj for a, b in zip(doc_words, doc_words[1:]))
    return 2 if bound else 1


def generate(spec: SyntheticSpec) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Build (docs, queries by split, qrels by split) from the spec; same spec, same tables.

    docs: docno, text, topic; queries: qid, text, topic (the topic is the generator's knowledge, not written
    to the ir_datasets files); qrels: qid, docno, relevance."""
    rng = np.random.default_rng(spec.seed)
    taken = {w.lower() for w in PROMPT_WORDS}
    topics = [_pseudo_words(rng, spec.words_per_topic, taken) for _ in range(spec.n_topics)]
    attrs = _pseudo_words(rng, spec.n_attributes, taken)
    objs = _pseudo_words(rng, spec.n_objects, taken)
    fillers = _pseudo_words(rng, spec.n_filler, taken)

    def random_binding():
        return (str(rng.choice(attrs)), str(rng.choice(objs)))

    docs: list[tuple[int, str]] = []  # (topic, text)
    query_rows: dict[str, list[tuple[int, str, str, str]]] = {}
    for split, n in (("train", spec.n_train), ("dev", spec.n_dev), ("test", spec.n_test)):
        rows = []
        for _ in range(n):
            t = int(rng.integers(spec.n_topics))
            a, o = random_binding()
            a2 = str(rng.choice([x for x in attrs if x != a]))
            o2 = str(rng.choice([x for x in objs if x != o]))
            tw = list(rng.choice(topics[t], 2, replace=False))
            rows.append((t, a, o, f"{tw[0]} {tw[1]} {a} {o}", tuple(tw)))
            docs.append((t, _doc(rng, topics[t], [(a, o), (a2, o2)], spec.doc_topic_words, fillers,
                                 spec.doc_filler_words, must=tw)))
            for _ in range(spec.swapped_per_query):
                a3 = str(rng.choice([x for x in attrs if x != a]))
                o3 = str(rng.choice([x for x in objs if x != o]))
                docs.append((t, _doc(rng, topics[t], [(a, o3), (a3, o)], spec.doc_topic_words, fillers,
                                     spec.doc_filler_words, must=tw)))
        query_rows[split] = rows
    for t in range(spec.n_topics):
        for _ in range(spec.background_per_topic):
            docs.append((t, _doc(rng, topics[t], [random_binding(), random_binding()], spec.doc_topic_words,
                                 fillers, spec.doc_filler_words)))
    order = rng.permutation(len(docs))  # planted documents must not sit next to their query's index
    docs = [docs[i] for i in order]
    doc_df = pd.DataFrame({"docno": [f"d{i}" for i in range(len(docs))], "text": [d[1] for d in docs],
                           "topic": [d[0] for d in docs]})
    doc_topic = np.array([d[0] for d in docs])
    doc_words = [d[1].split() for d in docs]

    queries, qrels = {}, {}
    start = 0
    for split, rows in query_rows.items():
        qids = [f"{split[:2]}{start + i}" for i in range(len(rows))]
        start += len(rows)
        queries[split] = pd.DataFrame({"qid": qids, "text": [r[3] for r in rows], "topic": [r[0] for r in rows]})
        rel = []
        for qid, (t, a, o, _, tw) in zip(qids, rows):
            for j in np.flatnonzero(doc_topic == t):
                g = grade((t, a, o, tw), int(t), doc_words[j])
                if g:
                    rel.append((qid, doc_df.docno[j], g))
        qrels[split] = pd.DataFrame(rel, columns=["qid", "docno", "relevance"])
    return doc_df, queries, qrels


def make_synthetic(spec: SyntheticSpec | None = None, root: Path | None = None) -> dict[str, str]:
    """Write the synthetic set under data/synthetic/ (once) and register it in ir_datasets.

    Returns {split: dataset_id}, e.g. {'train': 'pdlib-synthetic/smoke/train', ...}. Used in 01_retrieve.
    """
    spec = spec or SyntheticSpec()
    folder = (root or paths.data_dir()) / "synthetic" / f"{spec.name}-{spec.digest}"
    with folder_lock(folder):  # two runs on one empty cache: one writes, the other waits
        if not (folder / "done.json").exists():
            _write_synthetic(spec, folder)
    ids = {}
    for split in ("train", "dev", "test"):
        ids[split] = register_local(f"pdlib-synthetic/{spec.name}-{spec.digest}/{split}", folder / "docs.tsv",
                                    folder / f"queries-{split}.tsv", folder / f"qrels-{split}.txt")
    return ids


def _write_synthetic(spec: SyntheticSpec, folder: Path) -> None:
    docs, queries, qrels = generate(spec)
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        docs[["docno", "text"]].to_csv(tmp / "docs.tsv", sep="\t", header=False, index=False)
        for split in queries:
            queries[split][["qid", "text"]].to_csv(tmp / f"queries-{split}.tsv", sep="\t", header=False, index=False)
            q = qrels[split].assign(iteration="0")[["qid", "iteration", "docno", "relevance"]]
            q.to_csv(tmp / f"qrels-{split}.txt", sep=" ", header=False, index=False)
        (tmp / "done.json").write_text(json.dumps(asdict(spec), indent=1))


PRESETS = {
    "smoke": SyntheticSpec(),                                  # the smoke profile's MS MARCO stand-in
    "smoke-target": SyntheticSpec(name="smoke-target", seed=1, n_train=120, n_dev=20, n_test=40),  # a new domain
    "tiny": SyntheticSpec(name="tiny", n_topics=4, n_train=20, n_dev=8, n_test=8, background_per_topic=5),
}


def registered_id(name: str) -> str:
    """`synthetic/<preset>/<split>` -> its ir_datasets id, generating and registering the set if needed."""
    parts = name.split("/")
    if len(parts) != 3 or parts[1] not in PRESETS or parts[2] not in ("train", "dev", "test"):
        raise PdlibError(f"unknown synthetic dataset {name!r}: use synthetic/<preset>/<split> with preset in "
                         f"{sorted(PRESETS)} and split in train|dev|test")
    return make_synthetic(PRESETS[parts[1]])[parts[2]]


def resolve(dataset_id: str) -> str:
    """`synthetic/<preset>/<split>` or an already registered `pdlib-synthetic/<preset>-<digest>/<split>` ->
    the registered ir_datasets id (generating the set on first use; a fresh process, e.g. a scoring worker,
    registers it again)."""
    if dataset_id.startswith("synthetic/"):
        return registered_id(dataset_id)
    parts = dataset_id.split("/")
    for spec in PRESETS.values():
        if len(parts) == 3 and parts[1] == f"{spec.name}-{spec.digest}":
            return make_synthetic(spec)[parts[2]]
    raise PdlibError(f"{dataset_id} names no synthetic preset of this generator (version {GENERATOR_VERSION}): "
                     f"use synthetic/<preset>/<split> with preset in {sorted(PRESETS)}")
