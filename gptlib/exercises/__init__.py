"""Automatic checks for the book's code exercises: they say *what* is wrong, not just "wrong".

Every code exercise has a starter cell and a solution cell (see CONTRIBUTING.md):

* the **starter** defines the function with ``raise NotImplementedError`` where the student
  writes, then calls ``gptlib.exercises.attempt("ch04-ex2", my_function)``: it runs the check and
  prints the verdict, and never stops the notebook (a student copy runs to the end);
* the **solution** (tagged ``solution``, dropped from student copies) defines the reference and
  calls ``gptlib.exercises.check("ch04-ex2", my_function)``, which raises if it is wrong, so
  nbval tests every solution against its check.

A check is registered per exercise label in ``gptlib/exercises/chNN.py`` with :func:`register`.
It calls the student's function on fresh random inputs, compares with a reference, and names
the mistake: a wrong shape or dtype, NaNs, a mask applied the wrong way, a missing √d_k, ...
(:func:`compare` and its ``mistakes`` argument).
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

import torch

__all__ = ["ExerciseError", "register", "check", "attempt", "compare", "known_checks"]

_CHECKS: dict[str, Callable] = {}


class ExerciseError(AssertionError):
    """The student's answer is wrong; the message says how."""


def register(label: str):
    """Decorator: ``@register("ch04-ex2") def _(fn): ...`` — the check for exercise ``label``."""
    def wrap(check_fn):
        if label in _CHECKS:
            raise ValueError(f"a check for {label!r} is registered twice")
        _CHECKS[label] = check_fn
        return check_fn
    return wrap


def _load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


def known_checks() -> list[str]:
    """Labels of every exercise that has an automatic check."""
    _load_all()
    return sorted(_CHECKS)


def _get(label: str) -> Callable:
    if label not in _CHECKS:
        _load_all()
    if label not in _CHECKS:
        raise KeyError(f"no check for exercise {label!r}; known: {', '.join(sorted(_CHECKS))}")
    return _CHECKS[label]


def check(label: str, fn: Callable, *args, **kwargs) -> str:
    """Run exercise ``label``'s check on ``fn``; raise :class:`ExerciseError` if it is wrong.

    Returns the check's success message (also printed)."""
    message = _get(label)(fn, *args, **kwargs) or "correct"
    print(f"{label}: {message}")
    return message


def attempt(label: str, fn: Callable, *args, **kwargs) -> bool:
    """Like :func:`check`, but never raises for the student's mistakes: prints the verdict (for
    starter cells). True if right. An unknown label is the author's mistake and still raises."""
    _get(label)
    try:
        check(label, fn, *args, **kwargs)
        return True
    except NotImplementedError:
        print(f"{label}: your turn — replace `raise NotImplementedError` with your code, then run this cell again.")
    except ExerciseError as e:
        print(f"{label}: not yet — {e}")
    except Exception as e:  # noqa: BLE001 - a student's code may raise anything
        print(f"{label}: your function raised {type(e).__name__}: {e}")
    return False


def compare(got, expected: torch.Tensor, what: str = "the result", *, atol: float = 1e-5, rtol: float = 1e-4,
            mistakes: dict[str, torch.Tensor] | None = None) -> None:
    """Raise :class:`ExerciseError` naming the problem when ``got`` is not ``expected``.

    ``mistakes`` maps a diagnosis ("you divided by d_k instead of √d_k") to what that mistake would
    produce; when ``got`` matches one of them, that diagnosis is the message.
    """
    if got is None:
        raise ExerciseError(f"{what} is None: did your function forget to `return` it?")
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got, dtype=expected.dtype)
        except (TypeError, ValueError, RuntimeError):
            raise ExerciseError(f"{what} should be a tensor of shape {tuple(expected.shape)}, "
                                f"got a {type(got).__name__}") from None
    if tuple(got.shape) != tuple(expected.shape):
        raise ExerciseError(f"{what} has shape {tuple(got.shape)}; expected {tuple(expected.shape)}")
    if got.is_floating_point() != expected.is_floating_point():
        raise ExerciseError(f"{what} has dtype {got.dtype}; expected {expected.dtype}")
    if got.is_floating_point() and not torch.isfinite(got).all() and torch.isfinite(expected).all():
        raise ExerciseError(f"{what} contains NaN or inf (a softmax over a row that is all -inf? "
                            "a division by zero?)")
    got = got.to(expected.dtype)
    if torch.allclose(got, expected, atol=atol, rtol=rtol):
        return
    for diagnosis, wrong in (mistakes or {}).items():
        if tuple(wrong.shape) == tuple(got.shape) and torch.allclose(got, wrong.to(got.dtype), atol=atol, rtol=rtol):
            raise ExerciseError(diagnosis)
    err = (got - expected).abs().max().item()
    raise ExerciseError(f"{what} differs from the reference by up to {err:.3g} (tolerance {atol:g} + {rtol:g}·|x|)")
