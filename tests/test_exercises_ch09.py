"""Chapter 9's exercise checks accept the reference solutions and name the typical mistakes."""
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, f1_score

from gptlib import exercises
from gptlib.exercises import ExerciseError


# ------------------------------------------------------------------ ex1: last-token pooling
def pool_ok(hidden, attention_mask):
    T = attention_mask.size(1)
    last = T - 1 - attention_mask.flip(-1).argmax(-1)          # last position whose mask is 1
    return hidden[torch.arange(hidden.size(0)), last]


def pool_loop(hidden, attention_mask):                         # a second correct solution
    rows = []
    for b in range(hidden.size(0)):
        real = attention_mask[b].nonzero().flatten()
        rows.append(hidden[b, real[-1]])
    return torch.stack(rows)


def pool_last_column(hidden, attention_mask):
    return hidden[:, -1]


def pool_length_minus_one(hidden, attention_mask):
    return hidden[torch.arange(hidden.size(0)), attention_mask.sum(1) - 1]


def pool_first(hidden, attention_mask):
    return hidden[torch.arange(hidden.size(0)), attention_mask.argmax(1)]


def pool_mean(hidden, attention_mask):
    m = attention_mask[..., None].float()
    return (hidden * m).sum(1) / m.sum(1)


@pytest.mark.parametrize("fn", [pool_ok, pool_loop])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch09-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (pool_last_column, "last column"),
    (pool_length_minus_one, "only for right padding"),
    (pool_first, "first token"),
    (pool_mean, "mean pooling"),
    (lambda h, m: None, "return"),
    (lambda h, m: h[:, -1, :2], "shape"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch09-ex1", fn)


def test_ex1_attempt_never_raises(capsys):
    def todo(h, m):
        raise NotImplementedError
    assert exercises.attempt("ch09-ex1", todo) is False
    assert "your turn" in capsys.readouterr().out


# --------------------------------------------------- ex2: macro-F1 and balanced accuracy
def scores_ok(y_true, y_pred):
    classes = sorted(set(y_true))
    f1s, recalls = [], []
    for k in classes:
        tp = sum(t == k and p == k for t, p in zip(y_true, y_pred))
        fp = sum(t != k and p == k for t, p in zip(y_true, y_pred))
        fn = sum(t == k and p != k for t, p in zip(y_true, y_pred))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        recalls.append(recall)
    return sum(f1s) / len(classes), sum(recalls) / len(classes)


def scores_sklearn(y_true, y_pred):
    return (f1_score(y_true, y_pred, average="macro", zero_division=0),
            balanced_accuracy_score(y_true, y_pred))


def scores_micro(y_true, y_pred):
    acc = sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)
    return acc, scores_ok(y_true, y_pred)[1]


def scores_plain_accuracy(y_true, y_pred):
    acc = sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)
    return scores_ok(y_true, y_pred)[0], acc


def scores_mean_precision(y_true, y_pred):
    classes = sorted(set(y_true))
    precisions = []
    for k in classes:
        tp = sum(t == k and p == k for t, p in zip(y_true, y_pred))
        fp = sum(t != k and p == k for t, p in zip(y_true, y_pred))
        precisions.append(tp / (tp + fp) if tp + fp else 0.0)
    return scores_ok(y_true, y_pred)[0], sum(precisions) / len(classes)


def scores_last_class_f1(y_true, y_pred):
    k = max(y_true)
    tp = sum(t == k and p == k for t, p in zip(y_true, y_pred))
    fp = sum(t != k and p == k for t, p in zip(y_true, y_pred))
    fn = sum(t == k and p != k for t, p in zip(y_true, y_pred))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return f1, scores_ok(y_true, y_pred)[1]


@pytest.mark.parametrize("fn", [scores_ok, scores_sklearn])
def test_ex2_accepts_solutions(fn):
    assert "correct" in exercises.check("ch09-ex2", fn)


@pytest.mark.parametrize("fn, words", [
    (scores_micro, "micro-averaged"),
    (scores_plain_accuracy, "plain accuracy"),
    (scores_mean_precision, "precisions"),
    (scores_last_class_f1, "last class only"),
    (lambda t, p: None, "returned None"),
    (lambda t, p: 0.5, "pair"),
])
def test_ex2_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch09-ex2", fn)
