"""Checks for chapter 3 (tokens and embeddings): an embedding as a linear layer on one-hot
vectors, and the share of unknown tokens left by a truncated vocabulary."""
from __future__ import annotations

import numbers
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ExerciseError, compare, register


@register("ch03-ex2")
def _as_linear(fn):
    """``as_linear(emb)``: an ``nn.Linear(V, d, bias=False)`` with lin(one_hot(ids)) == emb(ids)."""
    gen = torch.Generator().manual_seed(3)
    for V, d in ((11, 4), (6, 6)):
        emb = nn.Embedding(V, d)
        with torch.no_grad():
            emb.weight.copy_(torch.randn(V, d, generator=gen))
        ids = torch.randint(0, V, (2, 9), generator=gen)
        lin = fn(emb)
        if lin is None:
            raise ExerciseError("your function returned None: return the nn.Linear layer")
        if not isinstance(lin, nn.Linear):
            raise ExerciseError(f"return an nn.Linear layer, not a {type(lin).__name__}")
        if (lin.in_features, lin.out_features) != (V, d):
            raise ExerciseError(
                f"your layer maps {lin.in_features} inputs to {lin.out_features} outputs; a "
                f"one-hot vector has V = {V} entries and an embedding d = {d}: "
                f"nn.Linear(V, d)")
        X = F.one_hot(ids, V).float()
        with torch.no_grad():
            got = lin(X)
            expected = emb(ids)
            mistakes = {}
            if V == d:
                mistakes["your weight is emb.weight itself: nn.Linear stores its weight as "
                         "(out, in) = (d, V) and computes x @ weight.T, so copy emb.weight.T"] = \
                    emb.weight.T[ids] + (lin.bias if lin.bias is not None else 0)
            if lin.bias is not None:
                mistakes["your layer has a bias, which shifts every embedding: use "
                         "bias=False (an embedding is a pure row lookup)"] = expected + lin.bias
        compare(got, expected, f"lin(one_hot(ids)) for V={V}, d={d}", mistakes=mistakes)
        if lin.bias is not None and lin.bias.abs().max() > 0:
            raise ExerciseError("your layer has a nonzero bias; use bias=False")
    return "correct: Linear(V, d, bias=False) with weight emb.weight.T is the embedding"


@register("ch03-ex4")
def _unk_rate(fn):
    """``unk_rate(train_ids, eval_ids, max_size)``: the share of eval_ids that become <unk>
    when only the max_size - 1 most frequent training ids are kept (the last slot is <unk>)."""
    gen = torch.Generator().manual_seed(33)
    for n_types, max_size in ((40, 10), (25, 20), (60, 2)):
        # distinct counts 1..n_types, so "the k most frequent" has one answer
        counts = torch.randperm(n_types, generator=gen) + 1
        train = torch.repeat_interleave(torch.arange(n_types), counts)
        train = train[torch.randperm(len(train), generator=gen)].tolist()
        evaluate = torch.randint(0, n_types + 10, (150,), generator=gen).tolist()
        ranked = [t for t, _ in Counter(train).most_common()]

        def rate(kept, ids=evaluate, fraction=True):
            n = sum(t not in kept for t in ids)
            return n / len(ids) if fraction else n

        expected = rate(set(ranked[:max_size - 1]))
        got = fn(list(train), list(evaluate), max_size)
        if got is None:
            raise ExerciseError("your function returned None: return the <unk> rate (a float)")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, numbers.Real):
            raise ExerciseError(f"return one number, the <unk> rate, not a {type(got).__name__}")
        by_eval = [t for t, _ in Counter(evaluate).most_common()]
        distinct = sorted(set(evaluate))
        t64 = lambda v: torch.tensor(float(v), dtype=torch.float64)   # noqa: E731
        mistakes = {
            "you kept max_size tokens; one of the max_size entries is <unk> itself, so keep "
            "the max_size - 1 most frequent": t64(rate(set(ranked[:max_size]))),
            "you returned the share of tokens that are kept; return the share that become "
            "<unk>": t64(1 - expected),
            "you returned the number of <unk> tokens; return it as a fraction of len(eval_ids)":
                t64(rate(set(ranked[:max_size - 1]), fraction=False)),
            "you ranked the tokens by their frequency in eval_ids; the vocabulary is built "
            "from the training ids only": t64(rate(set(by_eval[:max_size - 1]))),
            "you counted distinct tokens (types); count every occurrence in eval_ids":
                t64(rate(set(ranked[:max_size - 1]), ids=distinct)),
            "you kept the least frequent tokens; keep the most frequent":
                t64(rate(set(ranked[::-1][:max_size - 1]))),
        }
        compare(t64(got), t64(expected), f"the <unk> rate (max_size={max_size})",
                atol=1e-6, rtol=1e-6, mistakes=mistakes)
    return "correct: the share of held-out tokens outside the max_size - 1 most frequent"
