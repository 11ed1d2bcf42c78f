"""Checks for chapter 7 (the GPT architecture): GPT-2's parameter count from its formula, and
attention's share of the forward FLOPs."""
from __future__ import annotations

import torch

from ..model import GPTConfig, count_params
from . import ExerciseError, compare, register

_SIZES = ((12, 768, 50257, 1024), (2, 64, 65, 32), (24, 1024, 50257, 1024), (96, 12288, 50257, 2048),
          (3, 48, 1000, 128))


def _number(got, what):
    if got is None:
        raise ExerciseError(f"{what} is None: did your function forget to `return` it?")
    try:
        return torch.tensor(float(got), dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise ExerciseError(f"{what} should be one number, got a {type(got).__name__}") from None


@register("ch07-ex1")
def _(fn):
    for L, C, V, T in _SIZES:
        cfg = GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=4, n_embd=C, bias=True)
        parts = count_params(cfg)
        expected = torch.tensor(float(parts["total"]), dtype=torch.float64)
        got = _number(fn(L, C, V, T), f"the count for L={L}, C={C}, V={V}, T={T}")
        n = float(parts["total"])
        wrong = {
            "you left out the position embedding, T_max·C": n - T * C,
            "you counted the output head as well: GPT-2 ties it to the token embedding, so V·C "
            "counts once": n + V * C,
            "you left out the final LayerNorm (2C)": n - 2 * C,
            "you counted only the weight matrices 12·L·C²: the biases and LayerNorms add 13·C per "
            "block": n - 13 * C * L,
            "you left out the token embedding, V·C": n - V * C,
            "you wrote 12·L·C² + 13·C (the 13·C once, not per block)": n - 13 * C * (L - 1),
        }
        compare(got, expected, f"the parameter count for L={L}, C={C}, V={V}, T={T}",
                atol=0.5, rtol=0,
                mistakes={k: torch.tensor(v, dtype=torch.float64) for k, v in wrong.items()})
    return "correct: N = L(12C² + 13C) + VC + T_max·C + 2C, equal to count_params"


@register("ch07-ex3")
def _(fn):
    for L, C, _, T in _SIZES:
        for ctx in (T, 4 * T):
            N = float(count_params(GPTConfig(vocab_size=50257, block_size=ctx, n_layer=L,
                                             n_head=4, n_embd=C, bias=True))["total"])
            attn = 4 * L * ctx * C
            expected = torch.tensor(attn / (2 * N + attn), dtype=torch.float64)
            got = _number(fn(L, C, ctx, N), f"the share for L={L}, C={C}, T={ctx}")
            wrong = {
                "you divided by the weights' FLOPs 2N alone; the share is of the whole forward "
                "cost, 2N + 4LTC": attn / (2 * N),
                "you counted 2LTC for attention: there are two products per layer, QKᵀ and AV, "
                "each 2TC per token, so 4LTC": 2 * L * ctx * C / (2 * N + 2 * L * ctx * C),
                "you used 6N, the training cost of the weights, with the forward cost of "
                "attention; forward is 2N": attn / (6 * N + attn),
                "you returned the weights' share; the question asks for attention's":
                    2 * N / (2 * N + attn),
            }
            compare(got, expected, f"the attention share for L={L}, C={C}, T={ctx}",
                    atol=1e-9, rtol=1e-7,
                    mistakes={k: torch.tensor(v, dtype=torch.float64) for k, v in wrong.items()})
    return "correct: attention's share 4LTC / (2N + 4LTC) grows with the context"
