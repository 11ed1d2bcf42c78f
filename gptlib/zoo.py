"""The book's own trained models: named recipes that any chapter can load, or train if missing.

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

from . import checkpoints, data, tokenizers
from .model import GPT, GPTConfig
from .runtime import Runtime, cpu_has_bf16_units
from .training import History, TrainConfig, Trainer

# Character-level Shakespeare.
#   gpu:   nanoGPT's shakespeare-char (6 layers, 6 heads, 384 dims, context 256, dropout 0.2,
#          batch 64, 5000 steps); nanoGPT reports a validation loss of about 1.47 for it.
#   cpu:   nanoGPT's CPU model (4 layers, 4 heads, 128 dims, context 64), trained with the book's
#          faster CPU recipe (bigger batches, higher learning rate, bf16 where the CPU has native
#          bf16): a minute or two on two cores.
#   smoke: tiny, trained for a few seconds; it only shows that the code runs.
# ``precision``: the precision training uses per profile; "bf16-if-native" means bf16 autocast on
# a CPU with bf16 instructions (AVX512-BF16 or AMX), else the runtime's own precision.
RECIPES: dict[str, dict] = {
    "shakespeare-char": {
        "data": "tinyshakespeare",
        "tokenizer": "char",
        "model": {
            "gpu": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2),
            "cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0),
            "smoke": dict(n_layer=2, n_head=2, n_embd=32, block_size=32, dropout=0.0),
        },
        "train": {
            "gpu": dict(max_steps=5000, batch_size=64, lr=1e-3, min_lr=1e-4, warmup_steps=100,
                        beta2=0.99, eval_interval=250, eval_iters=50, compile=True),
            "cpu": dict(max_steps=2000, batch_size=32, lr=3e-3, min_lr=3e-4, warmup_steps=100,
                        beta2=0.99, eval_interval=200, eval_iters=20),
            "smoke": dict(max_steps=40, batch_size=8, lr=3e-3, min_lr=3e-4, warmup_steps=5,
                          eval_interval=20, eval_iters=4),
        },
        "precision": {"cpu": "bf16-if-native"},
    },
}


@dataclass
class TrainedModel:
    model: GPT
    tokenizer: object
    history: History
    train_ids: torch.Tensor
    val_ids: torch.Tensor


def corpus(name: str, tokenizer: str = "char", val_fraction: float = 0.1):
    """(tokenizer, train_ids, val_ids) for a registry text corpus, split 90/10 by default."""
    text = data.load_text(name)
    if tokenizer == "char":
        tok = tokenizers.CharTokenizer.from_text(text)
    else:
        tok = tokenizers.BPETokenizer(tokenizer)
    train, val = data.train_val_split(tok.encode(text), val_fraction)
    return tok, train, val


def training_runtime(name: str, rt: Runtime) -> Runtime:
    """The runtime a recipe trains under: ``rt``, with the recipe's precision for this profile."""
    spec = RECIPES[name].get("precision", {}).get(rt.profile)
    if spec == "bf16-if-native" and rt.device.type == "cpu" and cpu_has_bf16_units():
        return dataclasses.replace(rt, precision="bf16")
    if spec in ("fp32", "bf16", "fp16"):
        return dataclasses.replace(rt, precision=spec)
    return rt


def recipe_for(name: str, rt: Runtime) -> tuple[dict, GPTConfig, TrainConfig]:
    """(checkpoint key, model config, training config) of recipe ``name`` at ``rt``'s profile."""
    if name not in RECIPES:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(RECIPES)}")
    r = RECIPES[name]
    tok, _, _ = corpus(r["data"], r["tokenizer"])
    mcfg = GPTConfig(vocab_size=tok.vocab_size, **r["model"][rt.profile])
    tcfg = TrainConfig(**r["train"][rt.profile])
    if rt.device.type != "cuda":
        tcfg.compile = False
    key = {"name": name, "data": r["data"], "tokenizer": r["tokenizer"], "model": mcfg.to_dict(),
           "train": tcfg.to_dict(), "precision": training_runtime(name, rt).precision,
           "device": rt.device.type}
    return key, mcfg, tcfg


def _train(name: str, rt: Runtime, mcfg: GPTConfig, tcfg: TrainConfig, tok, train_ids, val_ids,
           on_eval=None, progress: bool | None = None) -> dict:
    if progress is not None:
        tcfg = dataclasses.replace(tcfg, progress=progress)
    torch.manual_seed(tcfg.seed)
    model = GPT(mcfg)
    trainer = Trainer(model, tcfg, training_runtime(name, rt), train_data=train_ids, val_data=val_ids,
                      on_eval=on_eval)
    trainer.fit()
    return {"model": model.state_dict(), "model_config": mcfg.to_dict(),
            "history": trainer.history.to_dict(), "tokenizer": tok.to_dict()}


def _trained_model(state: dict, rt: Runtime, train_ids, val_ids) -> TrainedModel:
    model = GPT(GPTConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    model.to(rt.device).eval()
    return TrainedModel(model, tokenizers.from_dict(state["tokenizer"]),
                        History.from_dict(state["history"]), train_ids, val_ids)


def load_or_train_model(name: str, rt: Runtime, verbose: bool = True) -> TrainedModel:
    """The model ``name`` at this profile's size: loaded if the book trained it before, else trained now."""
    key, mcfg, tcfg = recipe_for(name, rt)
    tok, train_ids, val_ids = corpus(RECIPES[name]["data"], RECIPES[name]["tokenizer"])
    state = checkpoints.load_or_train(
        name, key, lambda: _train(name, rt, mcfg, tcfg, tok, train_ids, val_ids), verbose=verbose)
    return _trained_model(state, rt, train_ids, val_ids)


def train_model(name: str, rt: Runtime, *, on_eval=None, progress: bool | None = None,
                verbose: bool = True) -> TrainedModel:
    """Train ``name`` now (``on_eval`` as in :class:`~gptlib.training.Trainer`), save it where
    :func:`load_or_train_model` looks, and return it."""
    key, mcfg, tcfg = recipe_for(name, rt)
    tok, train_ids, val_ids = corpus(RECIPES[name]["data"], RECIPES[name]["tokenizer"])
    state = _train(name, rt, mcfg, tcfg, tok, train_ids, val_ids, on_eval=on_eval, progress=progress)
    state = {**state, "recipe": key}
    path = checkpoints.checkpoint_dir() / f"{name}-{checkpoints.recipe_key(key)}.pt"
    checkpoints.save_checkpoint(path, state)
    if verbose:
        print(f"saved {name} to {path}")
    return _trained_model(state, rt, train_ids, val_ids)
