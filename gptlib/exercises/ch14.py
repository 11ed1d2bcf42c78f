"""Checks for chapter 14 (applications: entities, translation, retrieval, question answering):
word labels aligned with BPE pieces by the first-sub-token rule."""
from __future__ import annotations

import random

import torch

from . import ExerciseError, compare, register


def _reference(word_ids, word_labels):
    out, previous = [], None
    for w in word_ids:
        out.append(-100 if w is None or w == previous else word_labels[w])
        previous = w
    return out


def _case(rng: random.Random, n_words: int, specials: bool):
    word_ids = [None] if specials else []
    for w in range(n_words):
        word_ids += [w] * rng.randint(1, 3)
    if specials:
        word_ids.append(None)
    labels = [rng.randint(0, 12) for _ in range(n_words)]
    return word_ids, labels


@register("ch14-ex1")
def _(fn):
    rng = random.Random(14)
    cases = [_case(rng, n, s) for n, s in ((6, False), (9, True), (1, True), (12, False))]
    cases.append(([0, 0, 0, 1, 2, 2], [5, 7, 3]))              # a word of three pieces
    for word_ids, labels in cases:
        expected = torch.tensor(_reference(word_ids, labels))
        got = fn(list(word_ids), list(labels))
        if got is None:
            raise ExerciseError("your function returned None: return one label per piece")
        try:
            got = torch.tensor([int(x) for x in got])
        except (TypeError, ValueError):
            raise ExerciseError("return a list of ints, one label per piece (-100 where "
                                "a piece is not scored)") from None
        every = [-100 if w is None else labels[w] for w in word_ids]
        last = [-100 if w is None or (j + 1 < len(word_ids) and word_ids[j + 1] == w)
                else labels[w] for j, w in enumerate(word_ids)]
        compare(got, expected, f"the piece labels for word_ids={word_ids}", mistakes={
            "you put the word's label on every piece; only the first piece of a word gets "
            "it, the others get -100 (so each word counts once)": torch.tensor(every),
            "you labelled the last piece of each word; the first-sub-token rule labels the "
            "first piece and puts -100 on the rest": torch.tensor(last),
        })
    return "correct: the first piece of each word carries its label, everything else -100"
