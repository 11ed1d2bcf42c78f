"""Chapter 4's exercise checks accept the reference solutions and name the typical mistakes."""
import math

import pytest
import torch

from gptlib import exercises
from gptlib import reference as ref
from gptlib.exercises import ExerciseError
from gptlib.model import CausalSelfAttention, GPTConfig


# ------------------------------------------------------------------ ex1: attention
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def attention_renormalised(q, k, v, mask=None):            # mask after softmax, renormalised
    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    if mask is not None:
        w = w * mask
        w = w / w.sum(-1, keepdim=True)
    return w @ v


def _wrong(scale=None, fill=float("-inf"), dim=-1, invert=False, after=False):
    def attn(q, k, v, mask=None):
        d_k = q.size(-1)
        s = q @ k.transpose(-2, -1) * (1 / math.sqrt(d_k) if scale is None else scale(q, v))
        if mask is not None and not after:
            s = s.masked_fill(mask if invert else ~mask, fill)
        w = torch.softmax(s, dim=dim)
        if mask is not None and after:
            w = w * mask
        return w @ v
    return attn


@pytest.mark.parametrize("fn", [attention, attention_renormalised,
                                lambda q, k, v, mask=None: ref.attention(q, k, v, mask)[0]])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch04-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (_wrong(scale=lambda q, v: 1.0), "did not divide the scores by √d_k"),
    (_wrong(scale=lambda q, v: 1 / q.size(-1)), "by d_k instead of √d_k"),
    (_wrong(scale=lambda q, v: 1 / math.sqrt(v.size(-1))), "√d_v"),
    (_wrong(invert=True), "wrong way round"),
    (_wrong(fill=0.0), "to 0 instead of -inf"),
    (_wrong(dim=-2), "over the queries"),
    (_wrong(after=True), "without renormalising"),
    (lambda q, k, v, mask=None: attention(q, k, v), "ignored the mask"),
    (lambda q, k, v, mask=None: ref.attention(q, k, v, mask), "not a tuple"),
    (lambda q, k, v, mask=None: attention(q, k, v, mask)[..., :2], "shape"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch04-ex1", fn)


# ------------------------------------------------------------ ex4: batched multi-head
def multi_head(x, W_qkv, W_o, n_head):
    B, T, C = x.shape
    q, k, v = (x @ W.T for W in W_qkv.split(C, dim=0))
    q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
    heads = attention(q, k, v, torch.ones(T, T, dtype=torch.bool).tril())
    return heads.transpose(1, 2).reshape(B, T, C) @ W_o.T


def multi_head_module(x, W_qkv, W_o, n_head):                # the library's layer
    C = x.size(-1)
    layer = CausalSelfAttention(GPTConfig(n_embd=C, n_head=n_head, block_size=x.size(1))).double()
    with torch.no_grad():
        layer.c_attn.weight.copy_(W_qkv)
        layer.c_proj.weight.copy_(W_o)
        return layer(x)[0]


def _mh(split_raw=False, merge_raw=False, causal=True, scale_C=False, no_out=False):
    def f(x, W_qkv, W_o, n_head):
        B, T, C = x.shape
        hs = C // n_head
        q, k, v = (x @ W.T for W in W_qkv.split(C, dim=0))
        if split_raw:
            q, k, v = (t.reshape(B, n_head, T, hs) for t in (q, k, v))
        else:
            q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
        s = q @ k.transpose(-2, -1) / math.sqrt(C if scale_C else hs)
        if causal:
            s = s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
        o = s.softmax(-1) @ v
        o = o.reshape(B, T, C) if merge_raw else o.transpose(1, 2).reshape(B, T, C)
        return o if no_out else o @ W_o.T
    return f


@pytest.mark.parametrize("fn", [multi_head, multi_head_module, _mh()])
def test_ex4_accepts_solutions(fn):
    assert "correct" in exercises.check("ch04-ex4", fn)


@pytest.mark.parametrize("fn, words", [
    (_mh(split_raw=True), "reshaped \\(B, T, C\\) straight"),
    (_mh(merge_raw=True), "merged the heads"),
    (_mh(split_raw=True, merge_raw=True), "plain reshapes"),
    (_mh(causal=False), "see the future"),
    (_mh(scale_C=True), "√C"),
    (_mh(no_out=True), "concatenated heads"),
    (lambda x, W_qkv, W_o, h: multi_head(x, W_qkv, W_o.T, h), "instead of W_o.T"),
    (lambda x, W_qkv, W_o, h: (multi_head(x, W_qkv, W_o, h), None), "tuple"),
])
def test_ex4_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch04-ex4", fn)


def test_attempt_never_raises(capsys):
    def todo(*args):
        raise NotImplementedError
    assert exercises.attempt("ch04-ex1", todo) is False
    assert exercises.attempt("ch04-ex4", todo) is False
    assert "your turn" in capsys.readouterr().out
