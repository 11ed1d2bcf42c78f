"""Small helpers for the book's notebooks that also work outside the book build (e.g. on Colab).

``glue(name, value)`` hands a computed value to the prose (myst-nb's glue) when myst-nb is
installed, and otherwise just returns it, so a chapter runs the same everywhere. The other
helpers keep the plumbing out of the teaching cells:

* ``glue_all(name=value, ...)``, ``sci(x)`` and ``relation(a, b)``: numbers and phrases for the
  prose (``relation`` words a comparison from the result, so the sentence is true on any run);
* ``table(rows, columns)``: a list of dicts (or of tuples, with ``columns``) shown as a table;
* ``heatmap(ax, M, ...)`` and ``plain_log_ticks(ax)``: two recurring matplotlib chores;
* ``diagram(name)``: one of the book's diagrams (``assets/``), shipped inside gptlib so that a
  chapter opened alone, e.g. on Colab, shows it too.
"""
from __future__ import annotations

from pathlib import Path

DIAGRAM_DIR = Path(__file__).resolve().parent / "diagrams"


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


def glue_all(**values) -> None:
    """``glue(name, value)`` for every keyword. Returns nothing, so that a cell ending with it
    shows no stray value."""
    for name, value in values.items():
        glue(name, value)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float, digits: int = 2) -> str:
    """``x`` in scientific notation for the prose: ``sci(3.146e23)`` → ``"3.15×10²³"``."""
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def relation(a: float, b: float, *, above: str = "higher than", below: str = "lower than",
             near: str = "about the same as", tol: float = 0.0) -> str:
    """Words for how ``a`` compares with ``b``: ``above`` if ``a > b + tol``, ``below`` if
    ``a < b - tol``, else ``near``. Glue the result, so the sentence follows the run."""
    if a > b + tol:
        return above
    if a < b - tol:
        return below
    return near


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
        rows = list(rows)
        if columns is not None and rows and not isinstance(rows[0], dict):
            rows = [dict(zip(columns, r)) for r in rows]        # tuples, in the order of columns
        self.rows = [dict(r) for r in rows]
        if columns is not None:
            self.columns = list(columns)
        else:
            self.columns = list(self.rows[0]) if self.rows else []
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
    """``table(list_of_dicts)`` or ``table(list_of_tuples, columns)``: rows as a table
    (see :class:`Table`)."""
    return Table(rows, columns, caption)


def plain_log_ticks(ax, axis: str = "y", ticks=None, fmt: str = "%g"):
    """Label a log-scale axis with plain numbers (``fmt``) instead of powers of ten, at
    ``ticks`` if given (only those inside the data range are kept), without minor labels."""
    import matplotlib.ticker as mticker
    which = ax.yaxis if axis == "y" else ax.xaxis
    if ticks is not None:
        lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
        inside = [t for t in ticks if lo <= t <= hi]
        (ax.set_yticks if axis == "y" else ax.set_xticks)(inside or list(ticks))
    which.set_major_formatter(mticker.FormatStrFormatter(fmt))
    which.set_minor_formatter(mticker.NullFormatter())
    return ax


def heatmap(ax, M, *, xlabels=None, ylabels=None, annotate: bool = False, fmt: str = "{:.2f}",
            cmap: str = "Blues", vmin=None, vmax=None, title: str | None = None,
            xlabel: str | None = None, ylabel: str | None = None):
    """``ax.imshow`` of a matrix with optional tick labels and a number in every cell (white on
    dark cells); returns the image, for a colour bar."""
    import numpy as np
    M = M.detach().cpu().float().numpy() if hasattr(M, "detach") else np.asarray(M, dtype=float)
    im = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), xlabels)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), ylabels)
    if annotate:
        lo, hi = im.get_clim()
        for i in range(M.shape[0]):
            for j in range(M.shape[1]):
                dark = (M[i, j] - lo) > 0.6 * (hi - lo)
                ax.text(j, i, fmt.format(M[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    if title:
        ax.set_title(title, fontsize=10)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return im


def diagram_names() -> list[str]:
    """The diagrams gptlib ships (the SVG files of ``gptlib/diagrams``, copies of ``assets/``)."""
    return sorted(p.stem for p in DIAGRAM_DIR.glob("*.svg"))


class _SVG:
    """An SVG image for notebooks (IPython's ``SVG`` when IPython is there)."""

    def __init__(self, markup: str):
        self.data = markup

    def _repr_svg_(self) -> str:
        return self.data


def diagram(name: str):
    """The book's diagram ``name`` (see :func:`diagram_names`) as an SVG image for a notebook.

    The SVG is read from the gptlib package itself, not from a path beside the notebook, so the
    diagram appears wherever gptlib is installed: in the book, in Jupyter, on Colab."""
    path = DIAGRAM_DIR / f"{name}.svg"
    if not path.exists():
        raise KeyError(f"no diagram {name!r}; gptlib has: {', '.join(diagram_names())}")
    markup = path.read_text(encoding="utf-8")
    try:
        from IPython.display import SVG
    except ImportError:
        return _SVG(markup)
    return SVG(data=markup)
