"""LoRA: low-rank adapters on a frozen model (Hu et al., 2021, "LoRA: Low-Rank Adaptation of
Large Language Models").

Fine-tuning changes a pretrained weight matrix W₀ (out × in) by some ΔW. LoRA's bet is that the
useful ΔW has low rank, so it trains ΔW = B A with A (r × in) and B (out × r), r ≪ min(in, out),
and keeps W₀ frozen. A wrapped Linear computes

    h = W₀ x + b + (α / r) · B A dropout(x)

* A starts random (Kaiming-uniform, as ``nn.Linear`` initialises its weight) and **B starts at
  zero**, so at step 0 the adapter adds exactly nothing and the model's outputs are unchanged.
  (The gradient still reaches B at once: ∂h/∂B = (α/r)·(A x)ᵀ ≠ 0.)
* The scale α/r (``alpha / rank``) keeps the size of the update roughly independent of r, so a
  learning rate tuned at one rank still works at another.
* A layer of shape (out, in) trains r·(in + out) numbers instead of in·out: for GPT-2 small's
  ``c_attn`` (768 → 2304) at r = 8 that is 24,576 instead of 1,769,472 (1.4 %).
* Merging folds the adapter in, W = W₀ + (α/r) B A: the merged model is a plain model again,
  with no extra inference cost; unmerging subtracts it back out (exact up to rounding).

Usage::

    names = apply_lora(model, targets=("c_attn",), rank=8, alpha=16)   # freezes everything else
    trainable, total = count_trainable(model)
    ...                                    # train: only the adapters get gradients
    merge_lora(model)                      # fold B A into the weights for inference
    torch.save(lora_state_dict(model), "adapter.pt")                    # just the adapters

For a classifier, keep its new head trainable: ``apply_lora(clf, trainable=("score",))``.
"""
from __future__ import annotations

import math
from numbers import Real

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRAError(ValueError):
    """Bad arguments to, or a bad state for, a LoRA operation."""


def _check_hparams(rank, alpha, dropout) -> None:
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise LoRAError(f"rank must be an int ≥ 1 (the inner dimension r of B·A), got {rank!r}")
    if not isinstance(alpha, Real) or isinstance(alpha, bool) or not math.isfinite(alpha) or alpha <= 0:
        raise LoRAError(f"alpha must be a positive number (the update is scaled by alpha/rank), got {alpha!r}")
    if not isinstance(dropout, Real) or isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
        raise LoRAError(f"dropout must be a probability in [0, 1), got {dropout!r}")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) · B(A(dropout(x)))`` around a frozen ``nn.Linear``.

    ``lora_A`` (rank, in) is Kaiming-uniform, ``lora_B`` (out, rank) is zero. ``base`` keeps
    its weight and bias, frozen (``requires_grad=False``). After :meth:`merge` the adapter is
    folded into ``base.weight`` and the forward pass is ``base(x)`` alone.
    """

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise LoRAError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        _check_hparams(rank, alpha, dropout)
        self.base = base
        self.rank = rank
        self.alpha = float(alpha)
        self.scaling = self.alpha / rank
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=w.device, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.merged = False
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    @property
    def weight(self) -> torch.Tensor:
        """The base weight (with the adapter folded in once merged)."""
        return self.base.weight

    @property
    def bias(self):
        return self.base.bias

    def delta_weight(self) -> torch.Tensor:
        """ΔW = (alpha / rank) · B A, shape (out, in)."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.merged:
            return y
        a = F.linear(self.dropout(x), self.lora_A.to(x.dtype))            # (..., rank)
        return y + self.scaling * F.linear(a, self.lora_B.to(x.dtype))     # (..., out)

    @torch.no_grad()
    def merge(self) -> None:
        """W₀ ← W₀ + (alpha/rank) B A; the adapter then adds nothing of its own."""
        if not self.merged:
            self.base.weight += self.delta_weight().to(self.base.weight.dtype)
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """W₀ ← W₀ − (alpha/rank) B A: back to the frozen weight and a live adapter."""
        if self.merged:
            self.base.weight -= self.delta_weight().to(self.base.weight.dtype)
            self.merged = False

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, rank={self.rank}, "
                f"alpha={self.alpha:g}, merged={self.merged}")


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """Every :class:`LoRALinear` in ``model``, by module name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def _shared_weight(model: nn.Module, name: str, linear: nn.Linear) -> str | None:
    """The name of another module holding ``linear.weight`` (a tied weight), if any."""
    for other, m in model.named_modules():
        if other != name and m is not linear:
            for p in m.parameters(recurse=False):
                if p is linear.weight:
                    return other
    return None


def _set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def mark_only_lora_trainable(model: nn.Module, trainable=()) -> None:
    """Freeze every parameter except the adapters' A and B and the parameters of the modules
    whose last name component is in ``trainable`` (e.g. ``("score",)`` for a classifier head)."""
    if isinstance(trainable, str):
        trainable = (trainable,)
    trainable = tuple(trainable)
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in lora_layers(model).values():
        layer.lora_A.requires_grad_(True)
        layer.lora_B.requires_grad_(True)
    found = set()
    for name, m in model.named_modules():
        last = name.rpartition(".")[2]
        if last in trainable:
            found.add(last)
            for p in m.parameters():
                p.requires_grad_(True)
    missing = [t for t in trainable if t not in found]
    if missing:
        names = sorted({n.rpartition(".")[2] for n, _ in model.named_modules() if n})
        raise LoRAError(f"trainable={missing} match no module of this model; its modules are named {names}")


def apply_lora(model: nn.Module, targets=("c_attn",), rank: int = 8, alpha: float = 16,
               dropout: float = 0.0, trainable=()) -> list[str]:
    """Wrap the ``nn.Linear`` modules named in ``targets`` with :class:`LoRALinear`, in place.

    A module is a target when the last component of its name is in ``targets``
    (``"c_attn"`` matches ``blocks.0.attn.c_attn``, ``backbone.blocks.3.attn.c_attn`` …). Then
    every parameter is frozen except the adapters and the modules named in ``trainable``.
    Returns the wrapped modules' names. A tied weight (GPT's ``lm_head`` shares the token
    embedding) cannot be adapted: merging would change the embedding too. The arguments are
    all checked before the model is touched.
    """
    if isinstance(targets, str):
        targets = (targets,)
    targets = tuple(targets)
    if not targets:
        raise LoRAError("targets is empty; name at least one Linear layer, e.g. targets=('c_attn',)")
    _check_hparams(rank, alpha, dropout)
    existing = lora_layers(model)
    if existing:
        raise LoRAError(f"this model already has LoRA adapters ({len(existing)} layers, e.g. "
                        f"{next(iter(existing))!r}); apply_lora once per model (merge_lora folds them in)")
    linear_names = sorted({n.rpartition(".")[2] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
    chosen = []
    for name, m in model.named_modules():
        last = name.rpartition(".")[2]
        if last not in targets:
            continue
        if not isinstance(m, nn.Linear):
            raise LoRAError(f"target {last!r} matches {name!r}, a {type(m).__name__}, not an nn.Linear; "
                            f"LoRA adapts Linear layers, named here {linear_names}")
        tied = _shared_weight(model, name, m)
        if tied is not None:
            raise LoRAError(f"{name!r} shares its weight with {tied!r} (tied weights); merging an adapter "
                            "into it would change both. Target another layer, or untie the weights first")
        chosen.append(name)
    unmatched = [t for t in targets if not any(n.rpartition(".")[2] == t for n in chosen)]
    if unmatched:
        raise LoRAError(f"targets {unmatched} match no layer of this model; its nn.Linear layers are "
                        f"named {linear_names}")
    if trainable:   # check the names before anything is wrapped or frozen
        names = {n.rpartition(".")[2] for n, _ in model.named_modules()}
        missing = [t for t in ((trainable,) if isinstance(trainable, str) else trainable) if t not in names]
        if missing:
            raise LoRAError(f"trainable={missing} match no module of this model; its modules are named "
                            f"{sorted(n for n in names if n)}")
    for name in chosen:
        _set_submodule(model, name, LoRALinear(model.get_submodule(name), rank, alpha, dropout))
    mark_only_lora_trainable(model, trainable)
    return chosen


def count_trainable(model: nn.Module) -> tuple[int, int]:
    """(trainable parameters, all parameters), each shared (tied) tensor counted once."""
    params = list(model.parameters())          # parameters() yields a tied tensor once
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def _need_layers(model: nn.Module) -> dict[str, LoRALinear]:
    layers = lora_layers(model)
    if not layers:
        raise LoRAError("this model has no LoRA adapters; call apply_lora(model, ...) first")
    return layers


def merge_lora(model: nn.Module) -> int:
    """Fold every adapter into its base weight (W₀ + (α/r) B A). Outputs are unchanged up to
    rounding and the adapters go quiet (train after :func:`unmerge_lora`). Returns how many
    layers were merged."""
    n = 0
    for layer in _need_layers(model).values():
        if not layer.merged:
            layer.merge()
            n += 1
    return n


def unmerge_lora(model: nn.Module) -> int:
    """Undo :func:`merge_lora` (W₀ = W − (α/r) B A, exact up to rounding). Returns the count."""
    n = 0
    for layer in _need_layers(model).values():
        if layer.merged:
            layer.unmerge()
            n += 1
    return n


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapters' tensors (``<layer>.lora_A`` / ``.lora_B``), detached copies: what
    you save to share an adapter without the base model. Save a trained head separately."""
    return {f"{name}.{p}": getattr(layer, p).detach().clone()
            for name, layer in _need_layers(model).items() for p in ("lora_A", "lora_B")}


def load_lora_state_dict(model: nn.Module, state: dict) -> None:
    """Load :func:`lora_state_dict`'s tensors into a model with the same adapters (unmerged)."""
    layers = _need_layers(model)
    expected = {f"{name}.{p}" for name in layers for p in ("lora_A", "lora_B")}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise LoRAError(f"adapter tensors do not match this model's adapters: missing {missing[:4]}, "
                        f"unexpected {unexpected[:4]}; apply_lora with the same targets first")
    for name, layer in layers.items():
        if layer.merged:
            raise LoRAError(f"{name!r} is merged; unmerge_lora(model) before loading adapters")
        for p in ("lora_A", "lora_B"):
            t, dst = state[f"{name}.{p}"], getattr(layer, p)
            if tuple(t.shape) != tuple(dst.shape):
                raise LoRAError(f"{name}.{p} has shape {tuple(t.shape)}, this adapter's is "
                                f"{tuple(dst.shape)} (a different rank?)")
    with torch.no_grad():
        for name, layer in layers.items():
            for p in ("lora_A", "lora_B"):
                getattr(layer, p).copy_(state[f"{name}.{p}"])


__all__ = ["LoRALinear", "LoRAError", "apply_lora", "mark_only_lora_trainable", "count_trainable",
           "merge_lora", "unmerge_lora", "lora_state_dict", "load_lora_state_dict", "lora_layers"]
