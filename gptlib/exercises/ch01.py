"""Checks for chapter 1 (history): the exact parameter count of a GPT-2-style model."""
from __future__ import annotations

import numbers

import torch

from ..model import GPTConfig, count_params
from . import ExerciseError, compare, register


def _count(V: int, T: int, L: int, d: int, **overrides) -> int:
    cfg = dict(vocab_size=V, block_size=T, n_layer=L, n_head=1, n_embd=d, bias=True)
    cfg.update(overrides)
    return count_params(GPTConfig(**cfg))["total"]


def _t(n) -> torch.Tensor:
    return torch.tensor(float(n), dtype=torch.float64)


@register("ch01-ex2")
def _gpt_params(fn):
    """``gpt_params(V, T, L, d)``: parameters of a GPT-2-style model (learned positions, biases,
    pre-LayerNorm blocks plus a final LayerNorm, MLP of width 4d, tied output head)."""
    gen = torch.Generator().manual_seed(1)
    cases = [(65, 64, 4, 128), (50_257, 1024, 12, 768)]
    for _ in range(4):
        V = int(torch.randint(10, 5000, (1,), generator=gen))
        T = int(torch.randint(4, 2048, (1,), generator=gen))
        L = int(torch.randint(1, 13, (1,), generator=gen))
        d = 8 * int(torch.randint(1, 65, (1,), generator=gen))
        cases.append((V, T, L, d))
    for V, T, L, d in cases:
        got = fn(V, T, L, d)
        if got is None:
            raise ExerciseError("your function returned None: return the number of parameters")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, numbers.Real):
            raise ExerciseError(f"return one number (an int), not a {type(got).__name__}")
        exact = _count(V, T, L, d)
        mistakes = {
            "you used the approximation 12Ld² + (V+T)d: the exact count also has the biases "
            "of every Linear layer and the gain and bias of every LayerNorm":
                _t(12 * L * d * d + (V + T) * d),
            "you counted a separate V×d output matrix: GPT-2's output head is tied to the "
            "token embedding (one matrix, used twice)": _t(exact + V * d),
            "you left out the position embedding, a T×d table": _t(exact - T * d),
            "you left out the final LayerNorm after the last block (2d parameters)":
                _t(exact - 2 * d),
            "you gave each block one LayerNorm; GPT-2 has two per block (before attention and "
            "before the MLP), plus one at the end": _t(exact - 2 * L * d),
            "your LayerNorms have a gain but no bias; each has both (2d parameters)":
                _t(exact - (2 * L + 1) * d),
            "you left out the biases of the Linear layers (GPT-2 has them)":
                _t(exact - L * (3 * d + d + 4 * d + d)),
            "your count has no biases at all; GPT-2 has them in every Linear layer and "
            "LayerNorm": _t(_count(V, T, L, d, bias=False)),
            "your MLP is d wide; GPT-2's hidden layer has 4d units":
                _t(_count(V, T, L, d, mlp_ratio=1)),
            "you left out the attention's output projection W^O (d² + d per block)":
                _t(exact - L * (d * d + d)),
        }
        compare(_t(got), _t(exact), f"the count for V={V}, T={T}, L={L}, d={d}",
                atol=0.5, rtol=0.0, mistakes=mistakes)
    return "correct: your formula matches gptlib.model.count_params on every configuration"
