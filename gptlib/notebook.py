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


class Table:
    """A list of dicts shown as a table: HTML in notebooks and the book, aligned text elsewhere.

    The book does without pandas; ``Table(rows)`` as a cell's last line renders the rows.
    """

    def __init__(self, rows, columns=None, caption: str | None = None):
        self.rows = [dict(r) for r in rows]
        self.columns = list(columns) if columns is not None else (list(self.rows[0]) if self.rows else [])
        self.caption = caption

    def cells(self) -> list[list[str]]:
        return [[str(r.get(c, "")) for c in self.columns] for r in self.rows]

    def _repr_html_(self) -> str:
        from html import escape
        cap = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        head = "".join(f"<th>{escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>"
                       for row in self.cells())
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        grid = [[str(c) for c in self.columns]] + self.cells()
        widths = [max(len(row[i]) for row in grid) for i in range(len(self.columns))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in grid]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.caption] if self.caption else []) + lines)


def table(rows, columns=None, caption: str | None = None) -> Table:
    """``table(list_of_dicts)``: display rows as a table (see :class:`Table`)."""
    return Table(rows, columns, caption)
