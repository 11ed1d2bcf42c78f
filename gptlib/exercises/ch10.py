"""Checks for chapter 10 (instruction tuning): the prompt mask, growing the embedding, and a
stricter well-formed rule."""
from __future__ import annotations

import re
from collections import Counter

import torch

from ..data import collate_causal_lm
from . import ExerciseError, compare, register


def _random_pairs(gen: torch.Generator, n: int = 6) -> list[tuple[list[int], list[int]]]:
    pairs = [([7], [3, 4]), ([5, 6], [9])]          # the edge cases: a 1-token prompt, response
    for _ in range(n):
        p = torch.randint(1, 12, (1,), generator=gen).item()
        r = torch.randint(1, 8, (1,), generator=gen).item()
        pairs.append((torch.randint(0, 50, (p,), generator=gen).tolist(),
                      torch.randint(0, 50, (r,), generator=gen).tolist()))
    return pairs


@register("ch10-ex1")
def _(fn):
    gen = torch.Generator().manual_seed(10)
    for prompt, response in _random_pairs(gen):
        ref = collate_causal_lm([(prompt, response)], pad_id=0)
        inputs, targets = ref["input_ids"][0], ref["targets"][0]
        got = fn(list(prompt), list(response))
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseError("return a pair (inputs, targets)")
        got_in, got_tg = got
        seq = torch.tensor(prompt + response)
        compare(got_in, inputs, f"inputs for a {len(prompt)}-token prompt",
                mistakes={"the inputs should drop the last token (seq[:-1]), not the first":
                          seq[1:]})
        all_counted = seq[1:]
        first_masked = seq[1:].clone()
        first_masked[:len(prompt)] = -100
        not_shifted = seq[:-1].clone()
        not_shifted[:len(prompt) - 1] = -100
        compare(got_tg, targets, f"targets for a {len(prompt)}-token prompt", mistakes={
            "nothing is masked: the prompt's targets should be -100": all_counted,
            "you masked len(prompt) targets, so the first response token is not learned; the "
            "target at the last prompt position is already a response token, mask only "
            "len(prompt) - 1": first_masked,
            "the targets are not shifted: target t is token t + 1 of the joined sequence":
                not_shifted,
        })
        if got_tg.dtype != torch.long:
            raise ExerciseError(f"targets have dtype {got_tg.dtype}; cross_entropy needs torch.long")
    return "correct: the prompt's targets are -100 and every response token is counted"


@register("ch10-ex2")
def _(fn):
    gen = torch.Generator().manual_seed(11)
    for V, C, n in ((5, 3, 2), (12, 8, 1), (7, 4, 5)):
        E = torch.randn(V, C, generator=gen)
        before = E.clone()
        expected = torch.cat([E, E.mean(0, keepdim=True).expand(n, -1)])
        got = fn(E, n)
        if not torch.equal(E, before):
            raise ExerciseError("your function changed E in place; return a new matrix")
        if isinstance(got, torch.Tensor) and got.dim() == 2 and got.shape[0] == V + n \
                and got.shape[1] == C and not torch.allclose(got[:V], E):
            raise ExerciseError("the first V rows must be E itself, unchanged")
        compare(got, expected, f"the grown ({V}+{n}, {C}) matrix", mistakes={
            "the new rows are zero; they should be the mean of the old rows":
                torch.cat([E, torch.zeros(n, C)]),
            "the new rows copy row 0; they should be the mean of all old rows":
                torch.cat([E, E[:1].expand(n, -1)]),
            "the new rows are the sum of the old rows, not their mean":
                torch.cat([E, E.sum(0, keepdim=True).expand(n, -1)]),
        })
    return "correct: the old rows are kept and each new row is their mean"


def _strict_reference(text: str, finish_reason: str, instruction: str) -> bool:
    answer = text.strip()
    w = re.findall(r"[a-z0-9]+", answer.lower())
    trigrams = Counter(zip(w, w[1:], w[2:]))
    return (bool(answer) and finish_reason in ("eos", "stop")
            and instruction.strip().lower() not in answer.lower()
            and "<unk>" not in answer and all(c == 1 for c in trigrams.values()))


# (text, finish_reason, instruction, what a wrong answer here shows)
_CASES = [
    ("The platypus.", "eos", "Name a mammal that lays eggs.", None),
    ("  The platypus lays eggs.  ", "stop", "Name a mammal that lays eggs.", None),
    ("", "eos", "Say hi.", "an empty answer is not well-formed"),
    ("   \n", "eos", "Say hi.", "an answer of only whitespace is empty (strip it first)"),
    ("The platypus.", "length", "Name a mammal that lays eggs.",
     "an answer cut off at the token limit (finish_reason 'length') did not end by itself"),
    ("Name a mammal that lays eggs. The platypus.", "eos", "Name a mammal that lays eggs.",
     "an answer that repeats the instruction is not well-formed"),
    ("NAME A MAMMAL THAT LAYS EGGS.", "eos", "Name a mammal that lays eggs.",
     "the echo test must ignore case"),
    ("The <unk> is a mammal.", "eos", "Name a mammal that lays eggs.",
     "an answer with <unk> is not well-formed"),
    ("The sun is hot. The sun is hot.", "eos", "Describe the sun.",
     "a repeated three-word sequence ('the sun is') must fail the answer"),
    ("The Sun is hot, and the sun is bright.", "eos", "Describe the sun.",
     "words are lower-cased before comparing trigrams ('The Sun is' = 'the sun is')"),
    ("Hot, hot, hot!", "eos", "Describe the sun.",
     "'hot hot hot' is one trigram, seen once: it passes (count trigrams, not words)"),
    ("It is hot and it is big.", "eos", "Describe the sun.",
     "a repeated two-word sequence is allowed; only three-word repeats fail"),
]


@register("ch10-ex3")
def _(fn):
    for text, reason, instruction, why in _CASES:
        expected = _strict_reference(text, reason, instruction)
        got = fn(text, reason, instruction)
        if not isinstance(got, (bool, int)) and not (isinstance(got, torch.Tensor) and got.numel() == 1):
            raise ExerciseError(f"return True or False, got {type(got).__name__}")
        if bool(got) != expected:
            hint = why or "a clean answer that ends by itself should pass"
            raise ExerciseError(f"for {text!r} ({reason}) you returned {bool(got)}: {hint}")
    return "correct: all four tests and the repeated-trigram rule"
