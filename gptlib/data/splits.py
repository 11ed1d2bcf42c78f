"""Finite datasets cut into train / validation / test: deterministic, stratified, disjoint, complete.

* :func:`stratified_split` cuts example indices so that every label keeps its share in every split.
* :func:`classification_data` gives the book's classification sets ready to use, with label names.
* :func:`instruction_splits` gives the instruction data's fixed 85 / 5 / 10 split.

The same seed gives the same split on every machine (Python's own ``random.Random``, not torch's
or NumPy's global generators, which the split neither reads nor disturbs).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

from . import loaders
from .registry import UnknownDatasetError

SPLITS = ("train", "validation", "test")


def stratified_split(labels, fractions=(0.8, 0.1, 0.1), seed: int = 0,
                     names=SPLITS) -> dict[str, list[int]]:
    """Indices ``0..len(labels)-1`` cut into ``names`` by ``fractions``, stratified by label.

    Each label's examples are shuffled (seeded) and cut on their own: label ℓ with n_ℓ examples
    gives each split ⌊f·n_ℓ⌋ of them, and the few left over go to the splits with the largest
    remainders f·n_ℓ − ⌊f·n_ℓ⌋ (ties: the earlier split). So every split holds every label in
    (almost exactly) its overall proportion, no index is in two splits, and every index is in one.
    Within a split the indices come in a seeded random order.
    """
    labels = list(labels)
    names = tuple(names)
    fractions = tuple(fractions)
    if not labels:
        raise ValueError("labels is empty: pass one label per example")
    if len(fractions) != len(names):
        raise ValueError(f"fractions has {len(fractions)} entries but names has {len(names)}: "
                         f"pass one fraction per split {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct, got {names}")
    if any(not isinstance(f, (int, float)) or isinstance(f, bool) or not 0 <= f <= 1 or math.isnan(f)
           for f in fractions):
        raise ValueError(f"fractions must be numbers between 0 and 1, got {fractions}")
    if abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {sum(fractions)})")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    rng = random.Random(seed)
    by_label: dict = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)   # labels in order of first appearance
    out = {name: [] for name in names}
    for members in by_label.values():
        rng.shuffle(members)
        exact = [f * len(members) for f in fractions]
        counts = [math.floor(x) for x in exact]
        leftover = len(members) - sum(counts)
        for j in sorted(range(len(names)), key=lambda j: (-(exact[j] - counts[j]), j))[:leftover]:
            counts[j] += 1
        start = 0
        for name, count in zip(names, counts):
            out[name] += members[start:start + count]
            start += count
    for name in names:
        rng.shuffle(out[name])
    return out


@dataclass(frozen=True)
class ClassificationData:
    """A labelled text dataset cut into splits: ``data["train"]`` is a list of (text, label)."""
    name: str
    splits: dict[str, list[tuple[str, int]]]
    label_names: tuple[str, ...]   # label i is called label_names[i]

    def __getitem__(self, split: str) -> list[tuple[str, int]]:
        if split not in self.splits:
            raise KeyError(f"no split {split!r}; splits: {list(self.splits)}")
        return self.splits[split]

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


def _sms_spam():
    rows = loaders.load_sms_spam()
    return rows, [lbl for _, lbl in rows], ("ham", "spam")


def _rt_polarity():
    rows = loaders.load_rt_polarity()
    return rows, [lbl for _, lbl in rows], ("negative", "positive")


def _uci_sentiment():
    rows = loaders.load_uci_sentiment()
    # stratified by (source, label), so each split has Amazon, IMDb and Yelp in equal shares too
    return [(s, lbl) for s, lbl, _ in rows], [(src, lbl) for _, lbl, src in rows], ("negative", "positive")


CLASSIFICATION_SETS = {"sms-spam": _sms_spam, "rt-polarity": _rt_polarity, "uci-sentiment": _uci_sentiment}


def classification_data(name: str, seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> ClassificationData:
    """One of the book's classification sets, cut 80 / 10 / 10 into train / validation / test by
    :func:`stratified_split` (``uci-sentiment`` is stratified by source and label).

    ``sms-spam``: label 1 = spam. ``rt-polarity`` and ``uci-sentiment``: label 1 = positive.
    """
    if name not in CLASSIFICATION_SETS:
        raise UnknownDatasetError(f"unknown classification dataset {name!r}; known: "
                                  f"{', '.join(sorted(CLASSIFICATION_SETS))}")
    rows, strata, label_names = CLASSIFICATION_SETS[name]()
    idx = stratified_split(strata, fractions, seed=seed)
    return ClassificationData(name, {split: [rows[i] for i in ids] for split, ids in idx.items()}, label_names)


INSTRUCTION_FRACTIONS = {"train": 0.85, "validation": 0.05, "test": 0.10}


def instruction_splits(seed: int = 0) -> dict[str, list[dict]]:
    """The instruction data (1,100 examples) shuffled with ``seed`` and cut 85 / 5 / 10:
    935 train, 55 validation and 110 test examples (the proportions of LLMs-from-scratch ch07).

    The counts are ⌊0.85·n⌋ for train, ⌊0.10·n⌋ for test and the rest for validation; within each
    split the examples keep the shuffled order. The default seed gives the book's fixed split.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    rows = loaders.load_instructions()
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_train = int(len(rows) * INSTRUCTION_FRACTIONS["train"])
    n_test = int(len(rows) * INSTRUCTION_FRACTIONS["test"])
    cut = {"train": order[:n_train], "validation": order[n_train:len(rows) - n_test],
           "test": order[len(rows) - n_test:]}
    return {split: [rows[i] for i in ids] for split, ids in cut.items()}


def leave_last_out(interactions, min_items: int = 3) -> dict[str, dict]:
    """Each user's items in time order; the last one held out for test, the one before it for
    validation (the leave-one-out protocol of sequential recommendation).

    ``interactions``: ``(user, item, ..., timestamp)`` tuples, the timestamp last, in any order
    (``load_movietweetings()[0]`` is one). Each user's rows are sorted by time; same-time ties keep
    the input order. Users with fewer than ``min_items`` (at least 3) interactions are left out.
    Returns ``{"train": {user: [items but the last two]}, "validation": {user: item},
    "test": {user: item}}`` with the users in ascending order.
    """
    if isinstance(min_items, bool) or not isinstance(min_items, int) or min_items < 3:
        raise ValueError(f"min_items must be an int >= 3 (one item to train on, one to validate, "
                         f"one to test), got {min_items!r}")
    by_user: dict = {}
    for row in interactions:
        if len(row) < 3:
            raise ValueError(f"each interaction must be (user, item, ..., timestamp), got {row!r}")
        by_user.setdefault(row[0], []).append((row[-1], row[1]))
    out = {"train": {}, "validation": {}, "test": {}}
    for user in sorted(by_user):
        rows = sorted(by_user[user], key=lambda r: r[0])    # stable: ties keep input order
        if len(rows) < min_items:
            continue
        items = [item for _, item in rows]
        out["train"][user] = items[:-2]
        out["validation"][user] = items[-2]
        out["test"][user] = items[-1]
    return out
