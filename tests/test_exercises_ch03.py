"""Chapter 3's exercise checks accept the reference solutions and name the typical mistakes."""
from collections import Counter

import pytest
import torch
import torch.nn as nn

from gptlib import exercises
from gptlib.exercises import ExerciseError


# ------------------------------------------------------- ex2: an embedding as a Linear
def as_linear(emb):
    V, d = emb.weight.shape
    lin = nn.Linear(V, d, bias=False)
    with torch.no_grad():
        lin.weight.copy_(emb.weight.T)
    return lin


def as_linear_parameter(emb):                                  # a second correct solution
    lin = nn.Linear(emb.num_embeddings, emb.embedding_dim, bias=False)
    lin.weight = nn.Parameter(emb.weight.detach().T.clone())
    return lin


def not_transposed(emb):
    V, d = emb.weight.shape
    lin = nn.Linear(V, d, bias=False)
    if V == d:
        with torch.no_grad():
            lin.weight.copy_(emb.weight)
    return lin


def with_bias(emb):
    V, d = emb.weight.shape
    lin = nn.Linear(V, d)
    with torch.no_grad():
        lin.weight.copy_(emb.weight.T)
    return lin


@pytest.mark.parametrize("fn", [as_linear, as_linear_parameter])
def test_ex2_accepts_solutions(fn):
    assert "correct" in exercises.check("ch03-ex2", fn)


def test_ex2_rejects_an_uncopied_layer():
    # for the (11, 4) table this returns a freshly initialised layer: plainly different
    with pytest.raises(ExerciseError, match="differs"):
        exercises.check("ch03-ex2", not_transposed)


def test_ex2_names_the_missing_transpose_on_a_square_table():
    def square_only(emb):
        V, d = emb.weight.shape
        return not_transposed(emb) if V == d else as_linear(emb)
    with pytest.raises(ExerciseError, match="emb.weight.T"):
        exercises.check("ch03-ex2", square_only)


@pytest.mark.parametrize("fn, words", [
    (with_bias, "bias"),
    (lambda emb: nn.Linear(emb.embedding_dim, emb.num_embeddings, bias=False), "nn.Linear\\(V, d\\)"),
    (lambda emb: emb, "not a Embedding"),
    (lambda emb: None, "returned None"),
])
def test_ex2_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch03-ex2", fn)


# -------------------------------------------------------------- ex4: the <unk> rate
def unk_rate(train_ids, eval_ids, max_size):
    kept = {t for t, _ in Counter(train_ids).most_common(max_size - 1)}
    return sum(t not in kept for t in eval_ids) / len(eval_ids)


def unk_rate_torch(train_ids, eval_ids, max_size):             # a second correct solution
    counts = torch.bincount(torch.tensor(train_ids))
    kept = counts.argsort(descending=True)[:max_size - 1]
    ev = torch.tensor(eval_ids)
    return 1 - torch.isin(ev, kept).float().mean()


def _kept(train_ids, k):
    return {t for t, _ in Counter(train_ids).most_common(k)}


@pytest.mark.parametrize("fn", [unk_rate, unk_rate_torch])
def test_ex4_accepts_solutions(fn):
    assert "correct" in exercises.check("ch03-ex4", fn)


@pytest.mark.parametrize("fn, words", [
    (lambda tr, ev, m: sum(t not in _kept(tr, m) for t in ev) / len(ev), "max_size - 1"),
    (lambda tr, ev, m: 1 - unk_rate(tr, ev, m), "kept"),
    (lambda tr, ev, m: unk_rate(tr, ev, m) * len(ev), "number of <unk>"),
    (lambda tr, ev, m: unk_rate(ev, ev, m), "training ids only"),
    (lambda tr, ev, m: unk_rate(tr, sorted(set(ev)), m), "distinct"),
    (lambda tr, ev, m: None, "returned None"),
])
def test_ex4_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch03-ex4", fn)


def test_attempt_never_raises(capsys):
    def todo(*args):
        raise NotImplementedError
    assert exercises.attempt("ch03-ex2", todo) is False
    assert exercises.attempt("ch03-ex4", todo) is False
    assert "your turn" in capsys.readouterr().out
