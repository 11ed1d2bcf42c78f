"""Checks for the code exercises of chapter 11, few-shot and in-context learning."""
from __future__ import annotations

import torch

from . import compare, register


def _causal_weights(n_head: int, T: int, gen: torch.Generator) -> torch.Tensor:
    """Random causal attention weights (n_head, T, T): each row a softmax over keys 0..i."""
    scores = torch.randn(n_head, T, T, generator=gen) * 2
    allowed = torch.ones(T, T, dtype=torch.bool).tril()
    return scores.masked_fill(~allowed, float("-inf")).softmax(-1)


def _mean_to_key(w: torch.Tensor, queries: torch.Tensor, offset: int) -> torch.Tensor:
    """Mean over ``queries`` i of w[:, i, i + offset] (negative keys wrap, as indexing does)."""
    return w[:, queries, queries + offset].mean(-1)


@register("ch11-ex1")
def _induction_score(fn):
    """``induction_score(weights, L)``, T = 2L (a start token, L tokens, the same L tokens):
    the mean weight from each query i of the repeated half (L+1 <= i <= T-1) to key i-L+1."""
    gen = torch.Generator().manual_seed(11)
    for n_head, L in ((2, 5), (3, 9)):
        T = 2 * L
        w = _causal_weights(n_head, T, gen)
        rep = torch.arange(L + 1, T)
        expected = _mean_to_key(w, rep, 1 - L)
        every = torch.arange(T)
        from_boundary = torch.arange(L, T)
        mistakes = {
            "you measured the weight on the earlier copy of the current token (key i - L), a "
            "'duplicate-token' score; the induction head looks one step later, at key "
            "i - L + 1, the token that followed the earlier copy": _mean_to_key(w, rep, -L),
            "you measured the weight on the previous token (key i - 1): that is the "
            "previous-token score, not the induction score": _mean_to_key(w, rep, -1),
            "your queries start at L; the repeated half's queries are i = L + 1 .. T - 1 (at "
            "position L the current token, the last of the first copy, has not occurred "
            "before)":
                _mean_to_key(w, from_boundary, 1 - L),
            "you averaged over every query position; average only over the repeated half, "
            "i = L + 1 .. T - 1": _mean_to_key(w, every, 1 - L),
            "you read weights[:, key, query]: rows are queries and columns are keys":
                _mean_to_key(w.transpose(-1, -2), rep, 1 - L),
        }
        got = fn(w.clone(), L)
        compare(got, expected, f"the induction score (n_head={n_head}, L={L})",
                mistakes=mistakes)
    # a perfect induction head scores 1, whatever else the pattern does in the first half
    L = 6
    T = 2 * L
    perfect = torch.eye(T)
    q = torch.arange(L + 1, T)
    perfect[q] = 0
    perfect[q, q - L + 1] = 1
    got = fn(perfect[None].clone(), L)
    compare(got, torch.ones(1), "the score of a perfect induction head")
    return "correct: the induction score reads key i - L + 1 for the queries of the repeated half"


@register("ch11-ex2")
def _calibrate(fn):
    """``calibrate(label_probs, content_free)``: divide by p_cf, renormalise each row."""
    gen = torch.Generator().manual_seed(12)
    for N, K in ((7, 2), (5, 3)):
        p = torch.randn(N, K, generator=gen).softmax(-1)
        cf = (torch.randn(K, generator=gen) * 1.5).softmax(-1)
        scaled = p / cf
        expected = scaled / scaled.sum(-1, keepdim=True)
        times = p * cf
        diff = p - cf
        mistakes = {
            "you multiplied by the content-free probabilities; divide by them, so that a label "
            "the model favours with no input is weighted down": times / times.sum(-1, keepdim=True),
            "you multiplied by the content-free probabilities and did not renormalise": times,
            "each row must be renormalised to sum to 1 after dividing by the content-free "
            "probabilities": scaled,
            "you renormalised over the queries (dim 0); renormalise each row (over the labels, "
            "dim -1)": scaled / scaled.sum(0, keepdim=True),
            "you subtracted the content-free probabilities; Zhao et al. divide by them "
            "(W = diag(p_cf)^-1)": diff,
            "you subtracted the content-free probabilities and renormalised; divide by them "
            "instead": diff / diff.sum(-1, keepdim=True),
        }
        got = fn(p.clone(), cf.clone())
        compare(got, expected, f"the calibrated probabilities (N={N}, K={K})", mistakes=mistakes)
    # with a uniform content-free distribution, calibration changes nothing
    p = torch.tensor([[0.9, 0.1], [0.3, 0.7]])
    compare(fn(p.clone(), torch.tensor([0.5, 0.5])), p,
            "the result for a uniform content-free distribution (it should leave p unchanged)")
    return "correct: p / p_cf, renormalised over the labels"
