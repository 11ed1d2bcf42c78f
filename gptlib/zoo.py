"""The book's own trained models: named recipes that any chapter can load, or train if missing.

``load_or_train_model("shakespeare-char", rt)`` returns the model an earlier chapter trained with
the same recipe (looked up in the checkpoint folder by a hash of the recipe), or trains it now,
so every chapter runs alone. Sizes come from the runtime profile.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import checkpoints, data, tokenizers
from .model import GPT, GPTConfig
from .runtime import Runtime
from .training import History, TrainConfig, Trainer

# Character-level Shakespeare. gpu: nanoGPT's shakespeare-char (6 layers, 6 heads, 384 dims,
# context 256). cpu: the nanoGPT CPU recipe's model, trained in about a minute on two cores.
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
                        beta2=0.99, eval_interval=500, eval_iters=50, compile=True),
            "cpu": dict(max_steps=2000, batch_size=32, lr=2e-3, min_lr=2e-4, warmup_steps=100,
                        beta2=0.99, eval_interval=250, eval_iters=20),
            "smoke": dict(max_steps=40, batch_size=8, lr=3e-3, min_lr=3e-4, warmup_steps=5,
                          eval_interval=20, eval_iters=4),
        },
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


def recipe_for(name: str, rt: Runtime) -> tuple[dict, GPTConfig, TrainConfig]:
    if name not in RECIPES:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(RECIPES)}")
    r = RECIPES[name]
    tok, _, _ = corpus(r["data"], r["tokenizer"])
    mcfg = GPTConfig(vocab_size=tok.vocab_size, **r["model"][rt.profile])
    tcfg = TrainConfig(**r["train"][rt.profile])
    if rt.device.type != "cuda":
        tcfg.compile = False
    key = {"name": name, "data": r["data"], "tokenizer": r["tokenizer"], "model": mcfg.to_dict(),
           "train": tcfg.to_dict(), "precision": rt.precision, "device": rt.device.type}
    return key, mcfg, tcfg


def load_or_train_model(name: str, rt: Runtime, verbose: bool = True) -> TrainedModel:
    """The model ``name`` at this profile's size: loaded if the book trained it before, else trained now."""
    key, mcfg, tcfg = recipe_for(name, rt)
    tok, train_ids, val_ids = corpus(RECIPES[name]["data"], RECIPES[name]["tokenizer"])

    def train():
        torch.manual_seed(tcfg.seed)
        model = GPT(mcfg)
        trainer = Trainer(model, tcfg, rt, train_data=train_ids, val_data=val_ids)
        trainer.fit()
        return {"model": model.state_dict(), "model_config": mcfg.to_dict(),
                "history": trainer.history.to_dict(), "tokenizer": tok.to_dict()}

    state = checkpoints.load_or_train(name, key, train, verbose=verbose)
    model = GPT(GPTConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    model.to(rt.device).eval()
    return TrainedModel(model, tokenizers.from_dict(state["tokenizer"]),
                        History.from_dict(state["history"]), train_ids, val_ids)
