"""The book's own trained models: named recipes that any chapter can load, or train if missing.

The recipes themselves live in :mod:`gptlib.recipes`, the one registry the benchmark reads too.
``load_or_train_model("shakespeare-char", rt)`` returns the model an earlier chapter trained with
the same recipe (looked up in the checkpoint folder by a hash of the recipe), or trains it now,
so every chapter runs alone. ``train_model`` always trains (the pretraining chapter uses it to show
the run live) and saves under the same key, so the chapters that follow load that model. Sizes
come from the runtime profile.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from . import checkpoints, data, recipes, tokenizers
from .model import GPT, GPTConfig
from .recipes import RECIPES  # noqa: F401  (zoo.RECIPES: the registry, as chapters read it)
from .runtime import Runtime, resolve_precision
from .training import History, TrainConfig, Trainer

@dataclass
class TrainedModel:
    model: GPT
    tokenizer: object
    history: History
    train_ids: torch.Tensor
    val_ids: torch.Tensor
    data: str = ""                 # which data it was trained and validated on, in words


@dataclass
class Prepared:
    """Everything needed to train or load a recipe at one profile, its corpus read and encoded once."""
    name: str
    key: dict                      # what identifies the checkpoint (configs, data, precision, device)
    model_config: GPTConfig
    train_config: TrainConfig
    runtime: Runtime               # the runtime training uses (the recipe's precision)
    tokenizer: object
    train_ids: torch.Tensor
    val_ids: torch.Tensor
    data: str                      # e.g. "WikiText-2 train (validation: valid)"


def corpus(name: str, tokenizer: str = "char", val_fraction: float = 0.1):
    """(tokenizer, train_ids, val_ids) for a registry text corpus, split 90/10 by default."""
    text = data.load_text(name)
    if tokenizer == "char":
        tok = tokenizers.CharTokenizer.from_text(text)
    else:
        tok = tokenizers.BPETokenizer(tokenizer)
    train, val = data.train_val_split(tok.encode(text), val_fraction)
    return tok, train, val


def wikitext_texts(offline: bool = False) -> tuple[str, str, str]:
    """(train text, validation text, description): WikiText-2's train and valid splits when the
    train split can be had (the cache, $GPTLIB_DATA_DIR, or a download), else valid and test."""
    try:
        train = data.fetch_file("wikitext-2", "train", offline=offline).read_text(encoding="utf-8")
        return train, data.load_wikitext2("valid"), "WikiText-2 train split (validation: its valid split)"
    except data.DataError:
        return (data.load_wikitext2("valid"), data.load_wikitext2("test"),
                "WikiText-2 valid split (validation: its test split); the train split needs the network")


def _encode_corpus(recipe: dict, rt: Runtime):
    """(tokenizer, train_ids, val_ids, description) of a recipe's corpus."""
    if recipe["data"] == "wikitext-2":
        train_text, val_text, desc = wikitext_texts(offline=rt.is_smoke)
        base = tokenizers.BPETokenizer("gpt2")
        if recipe["tokenizer"] != "gpt2-compact":
            raise ValueError(f"wikitext-2 recipes use the 'gpt2-compact' tokenizer, got {recipe['tokenizer']!r}")
        tok = tokenizers.CompactVocab.from_text(base, train_text, max_size=recipe.get("max_vocab"))
        return (tok, torch.tensor(tok.encode(train_text), dtype=torch.long),
                torch.tensor(tok.encode(val_text), dtype=torch.long), desc)
    tok, train, val = corpus(recipe["data"], recipe["tokenizer"])
    return tok, train, val, f"{recipe['data']}: first 90% for training, last 10% for validation"


def training_runtime(name: str, rt: Runtime) -> Runtime:
    """The runtime a recipe trains under: ``rt``, with the recipe's precision for this profile."""
    _, _, spec = recipes.spec(name, rt.profile)
    precision = recipes.training_precision(spec, rt.device)
    if precision in (None, "auto"):
        return rt
    return dataclasses.replace(rt, precision=resolve_precision(rt.device, precision))


def prepare(name: str, rt: Runtime) -> Prepared:
    """Recipe ``name`` at ``rt``'s profile, its corpus read and encoded once."""
    recipe = recipes.get_recipe(name)
    model_kw, train_kw, _ = recipes.spec(name, rt.profile)
    tok, train_ids, val_ids, desc = _encode_corpus(recipe, rt)
    mcfg = GPTConfig(vocab_size=tok.vocab_size, **model_kw)
    tcfg = TrainConfig(**train_kw)
    if rt.device.type != "cuda":
        tcfg.compile = False
    train_rt = training_runtime(name, rt)
    key = {"name": name, "data": recipe["data"], "data_used": desc, "tokenizer": recipe["tokenizer"],
           "model": _non_default(mcfg, GPTConfig(vocab_size=mcfg.vocab_size)),
           "train": _non_default(tcfg, TrainConfig(), ignore=("progress", "log_interval")),
           "precision": train_rt.precision, "device": rt.device.type}
    return Prepared(name, key, mcfg, tcfg, train_rt, tok, train_ids, val_ids, desc)


def _non_default(cfg, default, ignore=()) -> dict:
    """The fields of ``cfg`` that differ from ``default``: a checkpoint's key names only what was
    chosen, so that a new config field (with a default that keeps the old behaviour) does not
    re-key, and so retrain, every checkpoint; fields that do not change the weights are left out."""
    base = default.to_dict()
    return {k: v for k, v in cfg.to_dict().items() if k not in ignore and v != base.get(k, object())}


def recipe_for(name: str, rt: Runtime) -> tuple[dict, GPTConfig, TrainConfig]:
    """(checkpoint key, model config, training config) of recipe ``name`` at ``rt``'s profile."""
    p = prepare(name, rt)
    return p.key, p.model_config, p.train_config


def _train(p: Prepared, on_eval=None, progress: bool | None = None) -> dict:
    tcfg = p.train_config if progress is None else dataclasses.replace(p.train_config, progress=progress)
    torch.manual_seed(tcfg.seed)
    model = GPT(p.model_config)
    trainer = Trainer(model, tcfg, p.runtime, train_data=p.train_ids, val_data=p.val_ids, on_eval=on_eval)
    trainer.fit()
    return {"model": model.state_dict(), "model_config": p.model_config.to_dict(),
            "history": trainer.history.to_dict(), "tokenizer": p.tokenizer.to_dict(), "data": p.data}


def _trained_model(state: dict, p: Prepared, rt: Runtime) -> TrainedModel:
    model = GPT(GPTConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    model.to(rt.device).eval()
    return TrainedModel(model, tokenizers.from_dict(state["tokenizer"]), History.from_dict(state["history"]),
                        p.train_ids, p.val_ids, state.get("data", p.data))


def load_or_train_model(name: str, rt: Runtime, verbose: bool = True) -> TrainedModel:
    """The model ``name`` at this profile's size: loaded if the book trained it before, else trained now."""
    p = prepare(name, rt)
    state = checkpoints.load_or_train(name, p.key, lambda: _train(p), verbose=verbose)
    return _trained_model(state, p, rt)


def train_model(name: str, rt: Runtime, *, on_eval=None, progress: bool | None = None,
                verbose: bool = True) -> TrainedModel:
    """Train ``name`` now (``on_eval`` as in :class:`~gptlib.training.Trainer`), save it where
    :func:`load_or_train_model` looks, and return it."""
    p = prepare(name, rt)
    state = {**_train(p, on_eval=on_eval, progress=progress), "recipe": p.key}
    path = checkpoints.save_checkpoint(checkpoints.checkpoint_path(name, p.key), state)
    if verbose:
        print(f"saved {name} to {path}")
    return _trained_model(state, p, rt)
