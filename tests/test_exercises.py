"""gptlib.exercises itself: check raises, attempt never does, compare names the mistake."""
from __future__ import annotations

import pytest
import torch

import gptlib.exercises as ex
from gptlib.exercises import ExerciseError, compare

LABEL = "test-framework-ex1"


@pytest.fixture
def softmax_check():
    """A throwaway check under a label no chapter uses, removed afterwards."""
    @ex.register(LABEL)
    def _check(fn):
        x = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
        compare(fn(x), torch.softmax(x, dim=-1), "the weights",
                mistakes={"you took the softmax over the wrong axis (dim 0, not -1)":
                          torch.softmax(x, dim=0)})
        return "correct: rows sum to one"
    yield LABEL
    ex._CHECKS.pop(LABEL, None)


def right(x):
    return torch.exp(x) / torch.exp(x).sum(-1, keepdim=True)


def wrong_axis(x):
    return torch.softmax(x, dim=0)


def unfilled(x):
    raise NotImplementedError


def crashes(x):
    return x @ x                                   # (4, 5) @ (4, 5): a shape error


def test_check_passes_the_right_answer_and_prints(softmax_check, capsys):
    assert ex.check(softmax_check, right) == "correct: rows sum to one"
    assert f"{LABEL}: correct: rows sum to one" in capsys.readouterr().out


def test_check_raises_with_the_diagnosis(softmax_check):
    with pytest.raises(ExerciseError, match="wrong axis"):
        ex.check(softmax_check, wrong_axis)
    assert issubclass(ExerciseError, AssertionError)   # nbval and pytest show it as a failure


@pytest.mark.parametrize("fn, ok, says", [
    (right, True, "correct"),
    (unfilled, False, "your turn"),
    (wrong_axis, False, "not yet — you took the softmax over the wrong axis"),
    (crashes, False, "your function raised RuntimeError"),
    (lambda x: None, False, "not yet — the weights is None"),
])
def test_attempt_never_raises_and_says_what_happened(softmax_check, capsys, fn, ok, says):
    assert ex.attempt(softmax_check, fn) is ok
    out = capsys.readouterr().out
    assert out.startswith(f"{LABEL}: ") and says in out


def test_attempt_your_turn_says_what_to_do(softmax_check, capsys):
    ex.attempt(softmax_check, unfilled)
    assert "replace `raise NotImplementedError`" in capsys.readouterr().out


def test_duplicate_registration_is_an_error(softmax_check):
    with pytest.raises(ValueError, match="registered twice"):
        ex.register(LABEL)(lambda fn: None)


def test_unknown_label_lists_the_known_ones(softmax_check):
    with pytest.raises(KeyError, match="no check for exercise 'ch99-ex9'") as info:
        ex.check("ch99-ex9", right)
    assert LABEL in str(info.value)
    assert LABEL in ex.known_checks()
    # attempt on an unknown label is the author's mistake, not the student's: it raises too
    with pytest.raises(KeyError, match="no check for exercise 'ch99-ex9'"):
        ex.attempt("ch99-ex9", right)


def test_known_checks_loads_every_chapter_module():
    labels = ex.known_checks()
    assert labels == sorted(labels)
    assert all(label.count("-ex") == 1 for label in labels if label.startswith("ch"))


def test_a_check_without_a_message_says_correct(capsys):
    ex.register("test-framework-silent")(lambda fn: None)
    try:
        assert ex.check("test-framework-silent", right) == "correct"
    finally:
        ex._CHECKS.pop("test-framework-silent", None)


EXPECTED = torch.tensor([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])


def test_compare_accepts_the_reference_and_near_values():
    compare(EXPECTED.clone(), EXPECTED)
    compare(EXPECTED + 1e-7, EXPECTED)
    compare(EXPECTED.tolist(), EXPECTED)               # a nested list is converted
    compare(EXPECTED.double(), EXPECTED)               # any float dtype


def test_compare_diagnoses_none():
    with pytest.raises(ExerciseError, match=r"the mask is None: did your function forget to `return`"):
        compare(None, EXPECTED, "the mask")


def test_compare_diagnoses_shape():
    with pytest.raises(ExerciseError, match=r"has shape \(3, 2\); expected \(2, 3\)"):
        compare(EXPECTED.T, EXPECTED)
    with pytest.raises(ExerciseError, match=r"has shape \(2, 3, 1\); expected \(2, 3\)"):
        compare(EXPECTED[..., None], EXPECTED)


def test_compare_diagnoses_a_non_tensor_and_dtype():
    with pytest.raises(ExerciseError, match=r"should be a tensor of shape \(2, 3\), got a str"):
        compare("0.1 0.2", EXPECTED)
    with pytest.raises(ExerciseError, match="has dtype torch.int64; expected torch.float32"):
        compare(torch.zeros(2, 3, dtype=torch.long), EXPECTED)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_compare_diagnoses_nan_and_inf(bad):
    got = EXPECTED.clone()
    got[1, 2] = bad
    with pytest.raises(ExerciseError, match="contains NaN or inf"):
        compare(got, EXPECTED)


def test_compare_allows_nan_where_the_reference_has_it():
    masked = torch.tensor([0.0, float("-inf")])
    with pytest.raises(ExerciseError, match="differs"):   # not the NaN diagnosis
        compare(torch.tensor([1.0, float("-inf")]), masked)


def test_compare_names_a_listed_mistake():
    scores = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    d_k = 16
    expected = torch.softmax(scores / d_k ** 0.5, -1)
    mistakes = {"you divided by d_k instead of √d_k": torch.softmax(scores / d_k, -1),
                "you forgot to scale by 1/√d_k": torch.softmax(scores, -1)}
    with pytest.raises(ExerciseError, match=r"^you divided by d_k instead of √d_k$"):
        compare(torch.softmax(scores / d_k, -1), expected, mistakes=mistakes)
    with pytest.raises(ExerciseError, match=r"^you forgot to scale by 1/√d_k$"):
        compare(torch.softmax(scores, -1), expected, mistakes=mistakes)
    with pytest.raises(ExerciseError, match="differs from the reference"):   # an unlisted mistake
        compare(torch.softmax(2 * scores, -1), expected, mistakes=mistakes)


def test_compare_reports_the_error_against_the_tolerance():
    with pytest.raises(ExerciseError, match=r"the weights differs from the reference by up to 0\.01 "
                                            r"\(tolerance 1e-05 \+ 0\.0001·\|x\|\)"):
        compare(EXPECTED + 0.01, EXPECTED, "the weights")
    compare(EXPECTED + 0.01, EXPECTED, atol=0.02)                 # a looser tolerance passes
    with pytest.raises(ExerciseError, match=r"tolerance 0\.001"):
        compare(EXPECTED + 0.01, EXPECTED, atol=1e-3, rtol=0)
