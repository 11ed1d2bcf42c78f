"""Checks for chapter 4 (attention): scaled dot-product attention with a mask, and causal
multi-head self-attention without a loop over the heads."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import ExerciseError, compare, register


def _scores(q, k, scale):
    return q @ k.transpose(-2, -1) * scale


def _masked(s, mask, fill=float("-inf")):
    return s if mask is None else s.masked_fill(~mask, fill)


def _two_sided_mask(gen: torch.Generator, T: int) -> torch.Tensor:
    """A random (T, T) mask whose every row and column has a True and a False."""
    mask = torch.rand(T, T, generator=gen) > 0.5
    i = torch.arange(T)
    mask[i, i] = True
    mask[i, (i + 1) % T] = False
    return mask


@register("ch04-ex1")
def _attention(fn):
    """``attention(q, k, v, mask=None)``: softmax(q kᵀ / √d_k, masked) v, mask True = may attend."""
    gen = torch.Generator().manual_seed(4)
    r = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64)  # noqa: E731
    d_k, d_v = 8, 5
    cases = [("a random mask", 6, 6, _two_sided_mask(gen, 6)),
             ("no mask, 4 queries and 7 keys", 4, 7, None),
             ("a causal mask", 6, 6, torch.ones(6, 6, dtype=torch.bool).tril())]
    for name, T_q, T_k, mask in cases:
        q, k, v = r(2, 3, T_q, d_k) * 1.5, r(2, 3, T_k, d_k) * 1.5, r(2, 3, T_k, d_v)
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        got = fn(q.clone(), k.clone(), v.clone(), None if mask is None else mask.clone())
        if isinstance(got, tuple):
            raise ExerciseError("return only the output tensor, not a tuple (output, weights)")
        if (isinstance(got, torch.Tensor) and got.is_floating_point() and mask is not None
                and not torch.isfinite(got).all()):
            raise ExerciseError(
                f"your output has NaN with {name}: some row of scores became all -inf. Did you "
                "fill the wrong entries? True in the mask means 'may attend': set the scores "
                "to -inf where the mask is False (scores.masked_fill(~mask, -inf))")
        s = _scores(q, k, 1 / math.sqrt(d_k))
        mistakes = {
            "you did not divide the scores by √d_k": _masked(_scores(q, k, 1.0), mask)
            .softmax(-1) @ v,
            "you divided the scores by d_k instead of √d_k": _masked(_scores(q, k, 1 / d_k), mask)
            .softmax(-1) @ v,
            "you divided by √d_v (the width of the values); the scale is √d_k, the width of "
            "the queries and keys": _masked(_scores(q, k, 1 / math.sqrt(d_v)), mask)
            .softmax(-1) @ v,
        }
        if T_q == T_k:
            mistakes["you took the softmax over the queries (dim -2); each query's weights "
                     "over the keys must sum to one: softmax over the last axis"] = \
                _masked(s, mask).softmax(-2) @ v
            mistakes["you multiplied the transposed weights by v: row i of the weights belongs "
                     "to query i, so the output is weights @ v"] = \
                _masked(s, mask).softmax(-1).transpose(-2, -1) @ v
        if mask is not None:
            mistakes["you applied the mask the wrong way round: True means 'may attend', so "
                     "set the scores to -inf where the mask is False"] = \
                _masked(s, ~mask).softmax(-1) @ v
            mistakes["you set the masked scores to 0 instead of -inf: exp(0) = 1, so the "
                     "masked keys still get weight"] = _masked(s, mask, 0.0).softmax(-1) @ v
            mistakes["you zeroed the masked weights after the softmax without renormalising: "
                     "mask the scores before the softmax (or divide each row by its sum)"] = \
                (s.softmax(-1) * mask) @ v
            mistakes["you ignored the mask"] = s.softmax(-1) @ v
        compare(got, expected, f"the output with {name}", mistakes=mistakes)
    return "correct: matches F.scaled_dot_product_attention, with and without a mask"


def _heads(t, n_head):
    B, T, C = t.shape
    return t.view(B, T, n_head, C // n_head).transpose(1, 2)


def _merge(t):
    B, H, T, hs = t.shape
    return t.transpose(1, 2).reshape(B, T, H * hs)


def _mha(x, W_qkv, W_o, n_head, *, split=_heads, merge=_merge, causal=True, scale=None,
         transpose_in=True, out="W_o.T"):
    C = x.size(-1)
    Ws = W_qkv.split(C, dim=0)
    q, k, v = (split(x @ (W.T if transpose_in else W), n_head) for W in Ws)
    o = merge(F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale))
    if out == "none":
        return o
    return o @ (W_o.T if out == "W_o.T" else W_o)


@register("ch04-ex4")
def _multi_head(fn):
    """``multi_head(x, W_qkv, W_o, n_head)``: causal multi-head self-attention, (B, T, C)."""
    gen = torch.Generator().manual_seed(44)
    r = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64)  # noqa: E731
    for n_head, C in ((3, 12), (4, 12), (2, 10)):
        B, T = 2, 7
        x = r(B, T, C)
        W_qkv, W_o = r(3 * C, C) / math.sqrt(C), r(C, C) / math.sqrt(C)
        expected = _mha(x, W_qkv, W_o, n_head)

        def raw_split(t, h):
            B_, T_, C_ = t.shape
            return t.reshape(B_, h, T_, C_ // h)

        def raw_merge(t):
            B_, H_, T_, hs = t.shape
            return t.reshape(B_, T_, H_ * hs)

        a = (x, W_qkv, W_o, n_head)
        mistakes = {
            "you reshaped (B, T, C) straight to (B, n_head, T, C/n_head), which mixes tokens "
            "and heads: view it as (B, T, n_head, C/n_head), then transpose(1, 2)":
                _mha(*a, split=raw_split),
            "you merged the heads with a reshape straight from (B, n_head, T, hs) to (B, T, C): "
            "transpose(1, 2) back to (B, T, n_head, hs) first":
                _mha(*a, merge=raw_merge),
            "you split and merged the heads with plain reshapes (no transpose), which mixes "
            "tokens and heads: view as (B, T, n_head, hs), then transpose(1, 2)":
                _mha(*a, split=raw_split, merge=raw_merge),
            "you divided the scores by √C, the model width; each head's d_k is C / n_head":
                _mha(*a, scale=1 / math.sqrt(C)),
            "your heads see the future: apply the causal mask (query i sees keys 0..i)":
                _mha(*a, causal=False),
            "you multiplied by the W^Q, W^K, W^V blocks without transposing: nn.Linear stores "
            "weights as (out, in), so compute x @ W.T": _mha(*a, transpose_in=False),
            "you returned the concatenated heads: multiply them by W_o.T (the output "
            "projection)": _mha(*a, out="none"),
            "you multiplied by W_o instead of W_o.T (nn.Linear stores weights as (out, in))":
                _mha(*a, out="W_o"),
        }
        got = fn(x.clone(), W_qkv.clone(), W_o.clone(), n_head)
        if isinstance(got, tuple):
            raise ExerciseError("return only the output (B, T, C), not a tuple")
        compare(got, expected, f"the output with n_head={n_head}, C={C}", mistakes=mistakes)
    return "correct: causal multi-head attention with every head computed at once"
