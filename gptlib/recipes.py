"""The book's training recipes, in one registry that the zoo and the benchmark both read.

A recipe names its data, its tokenizer, and per runtime profile (``gpu``, ``cpu``, ``smoke``, or
``any`` for all of them) the model (:class:`~gptlib.model.GPTConfig` fields), the training run
(:class:`~gptlib.training.TrainConfig` fields) and the training precision:

* ``"bf16-if-native"``: bf16 autocast on a CPU with bf16 instructions (AVX512-BF16 or AMX), fp32 on
  other CPUs, and the runtime's policy on CUDA (bf16, or fp16 with a grad scaler on a T4);
* ``"fp32"``, ``"bf16"``, ``"fp16"``, ``"auto"``: as :func:`gptlib.runtime.resolve_precision`.

Models the chapters share (``shakespeare-char``, ``wikitext-bpe``) are trained once by
:mod:`gptlib.zoo` and loaded by every later chapter; the fixed benchmark presets
(``nanogpt-cpu``, ``fast-cpu``, ``shakespeare-gpu``) are what ``python -m gptlib.bench`` trains.
The ``gpu`` profile of ``shakespeare-char`` *is* the ``shakespeare-gpu`` preset: nanoGPT's
shakespeare-char recipe (nanoGPT reports a validation loss of about 1.47 for it).
"""
from __future__ import annotations

import copy

# nanoGPT's shakespeare-char model at its CPU size (its README's CPU recipe): exact GELU as in
# nanoGPT's nn.GELU(), no biases, tied embeddings.
NANOGPT_MODEL = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False, tie_weights=True,
                     gelu="exact")
# nanoGPT's shakespeare-char GPU recipe (config/train_shakespeare_char.py).
NANOGPT_GPU_MODEL = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, bias=False,
                         tie_weights=True, gelu="exact")
NANOGPT_GPU_TRAIN = dict(max_steps=5000, batch_size=64, lr=1e-3, min_lr=1e-4, warmup_steps=100, weight_decay=0.1,
                         beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=250, eval_iters=200, compile=True)

RECIPES: dict[str, dict] = {
    # ----------------------------------------------------------------- models the chapters share
    "shakespeare-char": {
        "description": "character-level Shakespeare: the model chapters 2-8 train, inspect and sample",
        "data": "tinyshakespeare", "tokenizer": "char",
        "model": {
            "gpu": NANOGPT_GPU_MODEL,
            # nanoGPT's CPU model size, trained with the book's faster CPU recipe (bigger batches,
            # a higher learning rate, bf16 where the CPU has native bf16): a minute or two.
            "cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0),
            "smoke": dict(n_layer=2, n_head=2, n_embd=32, block_size=32, dropout=0.0),
        },
        "train": {
            "gpu": NANOGPT_GPU_TRAIN,
            "cpu": dict(max_steps=2000, batch_size=32, lr=3e-3, min_lr=3e-4, warmup_steps=100,
                        beta2=0.99, eval_interval=200, eval_iters=20),
            "smoke": dict(max_steps=40, batch_size=8, lr=3e-3, min_lr=3e-4, warmup_steps=5,
                          eval_interval=20, eval_iters=4),
        },
        "precision": {"any": "bf16-if-native"},
    },
    "wikitext-bpe": {
        "description": "general English: GPT-2's BPE (compact vocabulary) on WikiText-2; the fine-tuning, "
                       "prompting, inference and applications chapters start from it",
        "data": "wikitext-2", "tokenizer": "gpt2-compact",
        "model": {
            "gpu": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.1),
            "cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=128, dropout=0.0),
            "smoke": dict(n_layer=2, n_head=2, n_embd=32, block_size=64, dropout=0.0),
        },
        "train": {
            "gpu": dict(max_steps=4000, batch_size=32, lr=1e-3, min_lr=1e-4, warmup_steps=200,
                        eval_interval=500, eval_iters=50, compile=True),
            # Offline the training text is WikiText-2's valid split (~250k tokens): 600 steps of
            # 2,048 tokens are about five passes over it, about five minutes on 2 fp32 cores.
            "cpu": dict(max_steps=600, batch_size=16, lr=3e-3, min_lr=3e-4, warmup_steps=50,
                        eval_interval=150, eval_iters=20),
            "smoke": dict(max_steps=20, batch_size=8, lr=3e-3, min_lr=3e-4, warmup_steps=4,
                          eval_interval=10, eval_iters=2),
        },
        "precision": {"any": "bf16-if-native"},
    },
    # ------------------------------------------------------------------ the benchmark's presets
    "nanogpt-cpu": {
        "description": "nanoGPT's shakespeare-char CPU recipe, identical model and optimiser",
        "data": "tinyshakespeare", "tokenizer": "char",
        "model": {"any": NANOGPT_MODEL},
        "train": {"any": dict(max_steps=2000, batch_size=12, lr=1e-3, min_lr=1e-4, warmup_steps=100,
                              weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=250,
                              eval_iters=20)},
        "precision": {"any": "bf16-if-native"},
    },
    "fast-cpu": {
        # Muon (torch.optim.Muon, lr 0.05, Nesterov momentum 0.95) on the blocks' matrices, AdamW
        # (lr 1e-2) on the embeddings and norms, as the nanoGPT speedrun does: val 1.886 in about
        # 240 steps where AdamW alone needed about 550 (bench14 log).
        "description": "nanoGPT's CPU model trained for time to quality: Muon + AdamW, batch 32, 260 steps",
        "data": "tinyshakespeare", "tokenizer": "char",
        "model": {"any": NANOGPT_MODEL},
        "train": {"any": dict(max_steps=260, batch_size=32, lr=1e-2, min_lr=1e-3, warmup_steps=50,
                              weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=20,
                              eval_iters=20, optimizer="muon", muon_lr=0.05, muon_momentum=0.95)},
        "precision": {"any": "bf16-if-native"},
    },
    "shakespeare-gpu": {
        "description": "nanoGPT's shakespeare-char GPU recipe (val ≈ 1.47 in nanoGPT's README)",
        "data": "tinyshakespeare", "tokenizer": "char",
        "model": {"any": NANOGPT_GPU_MODEL},
        "train": {"any": NANOGPT_GPU_TRAIN},
        "precision": {"any": "auto"},
    },
}
ALIASES = {"gpu": "shakespeare-gpu"}


def get_recipe(name: str) -> dict:
    """The recipe ``name`` (aliases resolved)."""
    name = ALIASES.get(name, name)
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(sorted(RECIPES))} "
                       f"(aliases: {', '.join(f'{a}={t}' for a, t in ALIASES.items())})")
    return RECIPES[name]


def _pick(table: dict, profile: str, what: str, name: str):
    if profile in table:
        return table[profile]
    if "any" in table:
        return table["any"]
    raise KeyError(f"recipe {name!r} has no {what} for profile {profile!r} (it has {sorted(table)})")


def spec(name: str, profile: str) -> tuple[dict, dict, str]:
    """(model kwargs, train kwargs, precision spec) of recipe ``name`` at ``profile`` (copies)."""
    r = get_recipe(name)
    return (copy.deepcopy(_pick(r["model"], profile, "model", name)),
            copy.deepcopy(_pick(r["train"], profile, "training run", name)),
            _pick(r.get("precision", {"any": "auto"}), profile, "precision", name))


def training_precision(precision_spec: str | None, device) -> str | None:
    """A recipe's precision spec → what :func:`gptlib.runtime.get_runtime` takes (None: its default).

    ``bf16-if-native``: bf16 on a CPU with bf16 instructions, else fp32 on a CPU; ``auto`` (bf16,
    or fp16 with a grad scaler) on CUDA; fp32 elsewhere (MPS).
    """
    from .runtime import cpu_has_bf16_units
    if precision_spec == "bf16-if-native":
        if device.type == "cpu":
            return "bf16" if cpu_has_bf16_units() else "fp32"
        return "auto" if device.type == "cuda" else "fp32"
    return precision_spec
