"""Small helpers for the book's notebooks that also work outside the book build (e.g. on Colab).

``glue(name, value)`` hands a computed value to the prose (myst-nb's glue) when myst-nb is
installed, and otherwise just returns it, so a chapter runs the same everywhere.
"""
from __future__ import annotations


class _Plain(str):
    """A string whose repr is itself, so glued text shows without quotes."""

    def __repr__(self):
        return str(self)


def glue(name: str, value, display: bool = False):
    """Make ``value`` available to the prose as ``{glue}`name```; returns ``value``.

    Glue pre-formatted strings (``f"{loss:.3f}"``): they appear in the text as written.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    _glue(name, _Plain(value) if isinstance(value, str) else value, display=display)
    return value


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ in ("ZMQInteractiveShell", "Shell")
