"""Checks for chapter 13 (inference): nucleus (top-p) filtering and the repeated n-gram rate,
both written by hand."""
from __future__ import annotations

import torch

from ..generation import filter_logits
from ..metrics import repeated_ngram_rate
from . import ExerciseError, compare, register


def _nucleus_variants(logits: torch.Tensor, p: float) -> dict[str, torch.Tensor]:
    """What typical mistakes produce, for ``compare``'s ``mistakes``."""
    probs = logits.softmax(-1)
    sorted_p, order = probs.sort(descending=True)
    cum = sorted_p.cumsum(-1)

    def keep_sorted(keep_s):
        keep = torch.zeros_like(keep_s).scatter(-1, order, keep_s)
        return logits.masked_fill(~keep, float("-inf"))

    return {
        "you dropped the token that makes the total reach p: keep every token up to and "
        "including the first one whose cumulative probability reaches p":
            keep_sorted(cum < p),
        "you kept the tokens whose own probability is at least p; top-p keeps the most "
        "probable tokens until their *cumulative* probability reaches p":
            logits.masked_fill(probs < p, float("-inf")),
        "you summed the probabilities in the vocabulary's order; sort them from most to "
        "least probable first": logits.masked_fill((probs.cumsum(-1) - probs) >= p, float("-inf")),
        "the kept logits changed: return the original logits, with -inf only where a "
        "token is dropped": filter_logits(logits, top_p=p).softmax(-1),
    }


@register("ch13-ex1")
def _(fn):
    gen = torch.Generator().manual_seed(13)
    cases = [(torch.tensor([2.0, 1.0, 0.5, -1.0]), 0.7),
             (torch.tensor([0.1, 3.0, 0.2, 2.9, -2.0]), 0.5),
             (torch.tensor([5.0, 0.0, 0.0]), 0.9)]           # one token is already above p
    cases += [(torch.randn(V, generator=gen) * s, p)
              for V, s, p in ((10, 2.0, 0.9), (50, 1.0, 0.6), (30, 3.0, 0.95))]
    for logits, p in cases:
        before = logits.clone()
        got = fn(logits, p)
        if not torch.equal(logits, before):
            raise ExerciseError("your function changed the logits in place; return a new tensor")
        expected = filter_logits(logits, top_p=p)
        compare(got, expected, f"top-p filtering of {logits.numel()} logits at p = {p}",
                mistakes=_nucleus_variants(logits, p))
    return "correct: the smallest set of most probable tokens whose probability reaches p"


# (tokens, n, what a wrong answer here shows)
_RATE_CASES = [
    ("abcabcabc", 3, None),
    ("aaaaaa", 2, "'aaaaaa' has five 2-grams, all 'aa': four of them repeat an earlier one"),
    ("abcdef", 2, "a text with no repeated n-gram has rate 0"),
    ("ab", 3, "fewer tokens than n: there is no n-gram at all, and the rate is 0"),
    ("the cat sat on the cat".split(), 2, None),
    ("to be or not to be".split(), 2, None),
    ("abababab", 3, None),
]


@register("ch13-ex2")
def _(fn):
    for tokens, n, why in _RATE_CASES:
        expected = repeated_ngram_rate(list(tokens), n)
        got = fn(list(tokens), n)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise ExerciseError(f"return a number (a float in [0, 1]), got {type(got).__name__}") from None
        if abs(got - expected) < 1e-9:
            continue
        grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        what = f"for {tokens!r} with n = {n} you returned {got:.4f}, expected {expected:.4f}"
        if grams:
            from collections import Counter
            counts = Counter(grams)
            if abs(got - len(set(grams)) / len(grams)) < 1e-9:
                raise ExerciseError(f"{what}: that is distinct-n (distinct / all); the repeat "
                                    "rate is (all - distinct) / all")
            if abs(got - (len(grams) - len(set(grams))) / len(tokens)) < 1e-9:
                raise ExerciseError(f"{what}: divide by the number of n-grams "
                                    "(len(tokens) - n + 1), not the number of tokens")
            if abs(got - sum(c for c in counts.values() if c > 1) / len(grams)) < 1e-9:
                raise ExerciseError(f"{what}: you counted the first occurrence of a repeated "
                                    "n-gram too; only the later occurrences are repeats")
        raise ExerciseError(f"{what}" + (f": {why}" if why else ""))
    return "correct: the share of n-grams that already occurred earlier in the text"
