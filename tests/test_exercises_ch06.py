"""Chapter 6's exercise checks accept the reference solutions and name the typical mistakes."""
import pytest
import torch

from gptlib import exercises
from gptlib import reference as ref
from gptlib.exercises import ExerciseError


# ----------------------------------------------------------- ex4: LayerNorm's backward pass
def ln_backward_ok(x, grad_y, eps):
    mu = x.mean(-1, keepdim=True)
    inv_sigma = 1 / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + eps)
    xhat = (x - mu) * inv_sigma
    return inv_sigma * (grad_y - grad_y.mean(-1, keepdim=True)
                        - xhat * (grad_y * xhat).mean(-1, keepdim=True))


def ln_backward_autograd(x, grad_y, eps):                       # a second correct solution
    x = x.clone().requires_grad_(True)
    torch.nn.functional.layer_norm(x, x.shape[-1:], eps=eps).backward(grad_y)
    return x.grad


def ln_backward_constant_stats(x, grad_y, eps):
    return grad_y / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + eps)


def ln_backward_no_sigma_term(x, grad_y, eps):
    inv_sigma = 1 / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + eps)
    return inv_sigma * (grad_y - grad_y.mean(-1, keepdim=True))


def ln_backward_unbiased(x, grad_y, eps):
    x = x.clone().requires_grad_(True)
    y = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps)
    y.backward(grad_y)
    return x.grad


@pytest.mark.parametrize("fn", [ln_backward_ok, ln_backward_autograd])
def test_ex4_accepts_solutions(fn):
    assert "correct" in exercises.check("ch06-ex4", fn)


@pytest.mark.parametrize("fn, words", [
    (ln_backward_constant_stats, "as constants"),
    (ln_backward_no_sigma_term, "dropped the standard deviation's"),
    (ln_backward_unbiased, "unbiased variance"),
    (lambda x, g, eps: g, "differs from the reference"),
    (lambda x, g, eps: g[..., :1], "shape"),
])
def test_ex4_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch06-ex4", fn)


# --------------------------------------------------------- ex5: post-LN and pre-LN sub-layer
def sublayer_ok(x, f, norm, placement):
    if placement == "post":
        return norm(x + f(x))
    if placement == "pre":
        return x + f(norm(x))
    raise ValueError(placement)


def sublayer_swapped(x, f, norm, placement):
    return sublayer_ok(x, f, norm, "pre" if placement == "post" else "post")


def sublayer_no_residual(x, f, norm, placement):
    return norm(f(x)) if placement == "post" else f(norm(x))


def sublayer_pre_normalises_sum(x, f, norm, placement):
    return norm(x + f(x)) if placement == "post" else norm(x + f(norm(x)))


def sublayer_adds_normalised(x, f, norm, placement):
    return norm(x + f(x)) if placement == "post" else norm(x) + f(norm(x))


def test_ex5_accepts_the_solution():
    assert "correct" in exercises.check("ch06-ex5", sublayer_ok)


@pytest.mark.parametrize("fn, words", [
    (sublayer_swapped, "post-LN you computed the pre-LN form"),
    (sublayer_no_residual, "without the residual connection"),
    (sublayer_pre_normalises_sum, "must not be normalised"),
    (sublayer_adds_normalised, "adds the raw x"),
    (lambda x, f, norm, placement: {"post": 1}[placement], "rejected placement='pre'"),
])
def test_ex5_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch06-ex5", fn)


def test_ex5_attempt_never_raises(capsys):
    def todo(x, f, norm, placement):
        raise NotImplementedError
    assert exercises.attempt("ch06-ex5", todo) is False
    assert "your turn" in capsys.readouterr().out


def test_the_reference_layer_norm_is_what_ex4_differentiates():
    x = torch.randn(3, 8, dtype=torch.float64)
    torch.testing.assert_close(ref.layer_norm(x), torch.nn.functional.layer_norm(x, (8,)))
