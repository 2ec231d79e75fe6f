"""Local copies of datasets for ir_datasets (Used through pdlib.data): BEIR folders placed with
`use_local_beir`, licensed sets under data/licensed/, and any dataset id placed as a folder under
data/placed/<id>/ (air-gapped clusters). Every folder is checked on the way in (`validate_beir`); a placed
folder is converted once, keyed by its content. `register_local` registers local TSV/TREC files in ir_datasets.
"""
from __future__ import annotations

import gzip
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd

from . import PdlibError, paths

LICENSED = {  # where a user with the licence finds them (not reachable through ir_datasets downloads)
    "robust04": "TREC Disks 4&5 (licensed): ir_datasets 'disks45/nocr/trec-robust-2004' after placing the disks",
    "signal1m": "Signal-1M (licensed by Signal AI): BEIR's instructions",
    "trec-news": "Washington Post v2 (licensed by NIST): ir_datasets 'wapo/v2/trec-news-2019' after placing it",
    "bioasq": "BioASQ Task 8b (registration required): BEIR's instructions",
}
LICENSED_PREFIX = "pdlib-licensed/"


def setup_ir_datasets() -> Path:
    """Point ir_datasets at its home inside data/ (unless the user set IR_DATASETS_HOME) and return it."""
    home = paths.ir_datasets_home()
    os.environ.setdefault("IR_DATASETS_HOME", str(home))
    home.mkdir(parents=True, exist_ok=True)
    return home


def validate_beir(folder: Path, splits: list[str] | None = None) -> None:
    """Check a BEIR-layout folder before it is placed; one PdlibError naming the file, the first bad line and
    how many lines are bad: a line that is not JSON, a document or query without an id, a duplicate document
    id, an empty query, a qrels line without three columns or naming a document or query that is not there."""
    import json

    def lines(path: Path):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="\n") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield number, line

    def fail(path: Path, bad: list[tuple[int, str]], what: str) -> None:
        if bad:
            number, detail = bad[0]
            raise PdlibError(f"{path} line {number}: {detail} ({len(bad)} such line{'s' if len(bad) > 1 else ''}: "
                             f"{what}); fix the file and place the folder again")

    def records(path: Path) -> dict[str, int]:
        ids, bad, dup, empty = {}, [], [], []
        for number, line in lines(path):
            try:
                rec = json.loads(line)
                key = str(rec["_id"])
            except (ValueError, KeyError, TypeError):
                bad.append((number, "not a JSON object with an _id"))
                continue
            if key in ids:
                dup.append((number, f"id {key!r} again (first on line {ids[key]})"))
            ids.setdefault(key, number)
            if path.name.startswith("queries") and not str(rec.get("text", "")).strip():
                empty.append((number, f"query {key!r} has no text"))
        fail(path, bad, "BEIR's layout is one JSON object per line")
        fail(path, dup, "ids must be unique")
        fail(path, empty, "an empty query retrieves nothing")
        return ids

    corpus = next((p for p in (folder / "corpus.jsonl", folder / "corpus.jsonl.gz") if p.exists()), None)
    docs, queries = records(corpus), records(folder / "queries.jsonl")
    for split in splits if splits is not None else [q.stem for q in sorted((folder / "qrels").glob("*.tsv"))]:
        path, bad, missing = folder / "qrels" / f"{split}.tsv", [], []
        for number, line in lines(path):
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3 or not cols[2].strip().lstrip("-").isdigit():
                if number == 1 and len(cols) >= 3:
                    continue  # BEIR's header line
                bad.append((number, f"{len(cols)} tab-separated columns, not query-id, corpus-id, score"))
            elif cols[0] not in queries or cols[1] not in docs:
                what = f"query {cols[0]!r}" if cols[0] not in queries else f"document {cols[1]!r}"
                missing.append((number, f"{what} is not in {'queries.jsonl' if cols[0] not in queries else corpus.name}"))
        fail(path, bad, "qrels are query-id, corpus-id, score separated by tabs")
        fail(path, missing, "a judgement of a passage that is not there would count as a miss")


def use_local_beir(name: str, folder: Path | str | None = None) -> Path:
    """Place a BEIR-layout folder (corpus.jsonl[.gz], queries.jsonl, qrels/*.tsv) as ir_datasets'
    `beir/<name>/source.zip`, so `beir/<name>/...` loads offline. Default folder: ../shared/data/<name>."""
    folder = Path(folder) if folder else paths.shared_data_dir() / name
    corpus = next((p for p in (folder / "corpus.jsonl", folder / "corpus.jsonl.gz") if p.exists()), None)
    if corpus is None or not (folder / "queries.jsonl").exists() or not (folder / "qrels").is_dir():
        raise PdlibError(f"{folder} is not a BEIR folder (corpus.jsonl[.gz], queries.jsonl, qrels/*.tsv); "
                         f"download beir/{name} with network once, or point use_local_beir at such a folder")
    target = setup_ir_datasets() / "beir" / name / "source.zip"
    from .atomic import folder_lock

    with folder_lock(target.parent):  # two runs placing it at once: one writes, the other finds it
        return _place_beir(name, folder, corpus, target)


def _place_beir(name: str, folder: Path, corpus: Path, target: Path) -> Path:
    """Write `target` (source.zip) from `folder` unless it already holds that content. A folder with other
    content (a corrected copy) replaces the placed one: ir_datasets' files derived from the old zip are removed,
    and the cache keys of every `beir/<name>` dataset change with it (`content_tag`), so nothing computed from
    the old copy is reused."""
    placed_from = target.with_name("placed-from.txt")  # "<folder> <content digest>" of the placed copy
    digest = _placed_digest(folder)
    stamp = f"{folder.resolve()} {digest}"
    from .atomic import atomic_path, write_text

    before = placed_from.read_text() if target.exists() and placed_from.exists() else ""
    if before.rsplit(" ", 1)[-1] == digest:
        if before != stamp:  # the same files, moved: nothing to redo
            write_text(placed_from, stamp)
        return target
    validate_beir(folder)

    if target.parent.exists():  # another copy was placed before: start over from the new files
        for old in target.parent.iterdir():
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        opener = gzip.open if corpus.suffix == ".gz" else open
        with opener(corpus, "rb") as src, zf.open(f"{name}/corpus.jsonl", "w") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        zf.write(folder / "queries.jsonl", f"{name}/queries.jsonl")
        for q in sorted((folder / "qrels").glob("*.tsv")):  # with the header line ir_datasets expects
            rows = read_beir_qrels(q)
            zf.writestr(f"{name}/qrels/{q.name}", "query-id\tcorpus-id\tscore\n" + "".join(
                f"{a}\t{b}\t{c}\n" for a, b, c in rows.itertuples(index=False)))
    write_text(placed_from, stamp)  # last: a run killed before this point places the folder again
    return target


def content_tag(canonical_id: str) -> str:
    """What a cache key adds for a dataset whose files were placed with `use_local_beir`: the placed content's
    digest (so a corrected copy gets new keys), "" for every other dataset (their keys stay as they were)."""
    if not canonical_id.startswith("beir/"):
        return ""
    parts = canonical_id.split("/")[1:]
    home = paths.ir_datasets_home() / "beir"
    for n in range(len(parts), 0, -1):  # beir/cqadupstack/android/... names its folder by the longest match
        stamp = home.joinpath(*parts[:n]) / "placed-from.txt"
        if stamp.exists():
            return stamp.read_text().rsplit(" ", 1)[-1]
    return ""


# --- licensed BEIR sets, placed by the user ----------------------------------------------------------------
def licensed_folder(name: str) -> Path:
    """Where a licensed BEIR set is placed, in BEIR layout (corpus.jsonl[.gz], queries.jsonl, qrels/test.tsv,
    and qrels/train.tsv for BioASQ's Table 4 training queries): data/licensed/<name>/, or $PDLIB_LICENSED/<name>."""
    return Path(os.environ.get("PDLIB_LICENSED", paths.data_dir() / "licensed")) / name


def licensed_id(name: str, split: str = "test") -> str | None:
    """The dataset id of a placed licensed set (e.g. `pdlib-licensed/robust04/test`), None if not placed."""
    folder = licensed_folder(name)
    return f"{LICENSED_PREFIX}{name}/{split}" if (folder / "qrels" / f"{split}.tsv").exists() else None


def read_beir_qrels(path: Path) -> pd.DataFrame:
    """A BEIR qrels TSV (query-id, corpus-id, score) as strings qid, docno, relevance; BEIR's files start with a
    header line, some copies (e.g. ../shared/data/msmarco-dl19-mini) do not."""
    qrels = pd.read_csv(path, sep="\t", dtype=str, header=None).iloc[:, :3]
    qrels.columns = ["qid", "docno", "relevance"]
    if len(qrels) and not str(qrels.relevance.iloc[0]).lstrip("-").isdigit():
        qrels = qrels.iloc[1:]  # the header line
    return qrels.reset_index(drop=True)


def _beir_to_irds(folder: Path, split: str, target: Path) -> None:
    """A BEIR folder's corpus, queries and one qrels split as the TSV/TREC files ir_datasets.create_dataset reads."""
    import json

    corpus = next((p for p in (folder / "corpus.jsonl", folder / "corpus.jsonl.gz") if p.exists()), None)
    if corpus is None or not (folder / "queries.jsonl").exists():
        raise PdlibError(f"{folder} is not a BEIR folder: it needs corpus.jsonl[.gz], queries.jsonl and qrels/{split}.tsv")
    qrels = read_beir_qrels(folder / "qrels" / f"{split}.tsv")
    opener = gzip.open if corpus.suffix == ".gz" else open
    with opener(corpus, "rt") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().split("\n") if line.strip()]
    wanted = set(qrels.qid) if len(qrels) else {q["_id"] for q in queries}  # no qrels (ODQA): every query

    def clean(text: str) -> str:
        return " ".join(str(text).split())  # one line, no tabs
    target.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"docno": [d["_id"] for d in docs], "text": [clean(f"{d.get('title', '')} {d.get('text', '')}")
                                                             for d in docs]}).to_csv(
        target / "docs.tsv", sep="\t", header=False, index=False)
    pd.DataFrame([(q["_id"], clean(q["text"])) for q in queries if q["_id"] in wanted]).to_csv(
        target / "queries.tsv", sep="\t", header=False, index=False)
    qrels.assign(it="0")[["qid", "it", "docno", "relevance"]].to_csv(target / "qrels.txt", sep=" ", header=False,
                                                                     index=False)


def _resolve_licensed(dataset_id: str) -> str:
    """`pdlib-licensed/<name>/<split>`: the placed folder, converted once into the cache and registered."""
    from .atomic import atomic_path

    name, split = dataset_id[len(LICENSED_PREFIX):].split("/")
    folder = licensed_folder(name)
    if licensed_id(name, split) is None:
        raise PdlibError(f"{name} ({split}) is not placed: put its BEIR folder at {folder} "
                         f"(corpus.jsonl, queries.jsonl, qrels/{split}.tsv) — {LICENSED.get(name, '')}")
    target = paths.data_dir() / "licensed-irds" / name / split
    if not (target / "qrels.txt").exists():
        validate_beir(folder, [split])
        with atomic_path(target) as tmp:
            _beir_to_irds(folder, split, tmp)
    return register_local(dataset_id, target / "docs.tsv", target / "queries.tsv", target / "qrels.txt")


# --- any dataset id served from a folder the user placed (air-gapped clusters, local copies) ----------------
PLACED_PREFIX = "pdlib-placed/"


def placed_dir() -> Path:
    """Where datasets are placed by id: data/placed/<ir_datasets id>/ in BEIR layout, or $PDLIB_PLACED."""
    return Path(os.environ.get("PDLIB_PLACED", paths.data_dir() / "placed"))


def placed_folder(dataset_id: str) -> Path | None:
    """The folder that serves `dataset_id` if the user placed one: `<placed_dir>/<id>/` holding corpus.jsonl[.gz],
    queries.jsonl (lines may carry "answers" for ODQA) and qrels/test.tsv (optional when queries have answers).
    E.g. data/placed/msmarco-passage/trec-dl-2019/judged/ or data/placed/lotte/pooled/test/search/."""
    if dataset_id.startswith(("pdlib-", "synthetic/")) or ".." in Path(dataset_id).parts:
        return None
    folder = placed_dir() / dataset_id
    has_corpus = (folder / "corpus.jsonl").exists() or (folder / "corpus.jsonl.gz").exists()
    return folder if has_corpus and (folder / "queries.jsonl").exists() else None


def _placed_digest(folder: Path) -> str:
    """Changes when a placed folder's files do (names, sizes, first and last MiB): a corrected copy replaces the
    converted one."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = f.stat().st_size
        h.update(f"{f.relative_to(folder)}:{size}".encode())
        with f.open("rb") as fh:
            h.update(fh.read(1 << 20))
            fh.seek(max(0, size - (1 << 20)))
            h.update(fh.read())
    return h.hexdigest()[:12]


def _resolve_placed(dataset_id: str, folder: Path) -> str:
    """Convert a placed folder once (keyed by its content) and register it as `pdlib-placed/<id>@<digest>`."""
    from .atomic import folder_lock

    digest = _placed_digest(folder)
    target = paths.data_dir() / "placed-irds" / dataset_id / digest
    has_qrels = (folder / "qrels" / "test.tsv").exists()
    with folder_lock(target):
        if not (target / "docs.tsv").exists():
            _convert_placed(folder, target, has_qrels)
    return register_local(f"{PLACED_PREFIX}{dataset_id}@{digest}", target / "docs.tsv", target / "queries.tsv",
                          target / "qrels.txt" if has_qrels else None)


def _convert_placed(folder: Path, target: Path, has_qrels: bool) -> None:
    import json

    from .atomic import atomic_path

    validate_beir(folder, ["test"] if has_qrels else [])
    with atomic_path(target) as tmp:
        if has_qrels:
            _beir_to_irds(folder, "test", tmp)
        else:  # answers instead of judgements (ODQA)
            _beir_to_irds_no_qrels(folder, tmp)
        answers = {}
        for line in (folder / "queries.jsonl").read_text().split("\n"):
            q = json.loads(line) if line.strip() else {}
            if "answers" in q or "answers" in q.get("metadata", {}):
                answers[q["_id"]] = list(q.get("answers", q.get("metadata", {}).get("answers")))
        if answers:
            (tmp / "answers.json").write_text(json.dumps(answers))


def _beir_to_irds_no_qrels(folder: Path, target: Path) -> None:
    """`_beir_to_irds` for a folder without qrels (every query kept; relevance comes from answers)."""
    import tempfile

    with tempfile.TemporaryDirectory() as empty:
        (Path(empty) / "qrels").mkdir()
        (Path(empty) / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n")
        for name in ("corpus.jsonl", "corpus.jsonl.gz", "queries.jsonl"):
            if (folder / name).exists():
                os.symlink(folder / name, Path(empty) / name)
        _beir_to_irds(Path(empty), "test", target)
    (target / "qrels.txt").unlink(missing_ok=True)


def _placed_answers(canon: str) -> dict[str, list[str]]:
    import json

    if not canon.startswith(PLACED_PREFIX):
        return {}
    dataset_id, digest = canon[len(PLACED_PREFIX):].rsplit("@", 1)
    path = paths.data_dir() / "placed-irds" / dataset_id / digest / "answers.json"
    return json.loads(path.read_text()) if path.exists() else {}


def register_local(dataset_id: str, docs_tsv: Path, queries_tsv: Path | None, qrels_trec: Path | None) -> str:
    """Register local TSV/TREC files under `dataset_id` in ir_datasets (idempotent)."""
    setup_ir_datasets()  # before ir_datasets' first import: it reads its home once
    import ir_datasets

    if dataset_id not in ir_datasets.registry:
        ir_datasets.registry.register(dataset_id, ir_datasets.create_dataset(
            docs_tsv=str(docs_tsv), queries_tsv=str(queries_tsv) if queries_tsv else None,
            qrels_trec=str(qrels_trec) if qrels_trec else None))
    return dataset_id
