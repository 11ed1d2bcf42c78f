#!/usr/bin/env python3
"""Write the student edition of the book: every chapter of ``_toc.yml`` without its solutions.

    python tools/make_student.py [--out _build/student] [--zip _build/student.zip]

A student copy of a chapter

* drops every cell tagged ``solution``, every markdown cell from a ``{solution-start}`` directive
  to its ``{solution-end}`` (both included) and every ``{solution}`` directive cell;
* keeps everything else, starter cells (tagged ``starter``, which call
  ``gptlib.exercises.attempt``) included, with outputs and execution counts cleared;
* opens with a note that it is the student edition.

The folder keeps the book's layout (``chapters/NN_slug.ipynb``, plus the local images the
chapters show) and is zipped. Both are written atomically (``gptlib.atomic``): the folder is built
beside its destination and swapped in; the zip is renamed into place only when complete.

It fails (exit 1, naming the chapter and the cell) on an unclosed ``{solution-start}``, a
``{solution-end}`` without a start, or a leak: a copy that still holds a solution-tagged cell, a
solution directive, an output, or any line (20 characters or more, blank lines ignored) of a
removed solution cell. Lines that are not solution text are exempt: those the chapter shows
before its exercises, and ``def``/``class``/``import`` lines (a starter repeats the signature).
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gptlib.atomic import atomic_path, write_text  # noqa: E402

MIN_LEAK_LINE = 20

_FENCE = r"^[ \t]*(?:`{3,}|~{3,}|:{3,})[ \t]*"
START_RE = re.compile(_FENCE + r"\{solution-start\}", re.M)
END_RE = re.compile(_FENCE + r"\{solution-end\}", re.M)
SOLUTION_RE = re.compile(_FENCE + r"\{solution\}", re.M)
EXERCISE_RE = re.compile(_FENCE + r"\{exercise(?:-start)?\}", re.M)
ANY_SOLUTION_DIRECTIVE = re.compile(r"\{solution(?:-start|-end)?\}")
EXEMPT_LINE = re.compile(r"^(?:async\s+def|def|class|import|from\s+\S+\s+import)\b|^@")
IMAGE_RE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)|^[ \t]*(?:`{3,}|:{3,})\{(?:figure|image)\}[ \t]+(\S+)",
                      re.M)

NOTE = """\
```{{note}}
**Student edition.** This copy of *{title}* has no solutions: the exercises are yours.{starters}
```"""
NOTE_STARTERS = """
Each code exercise has a starter cell: replace `raise NotImplementedError` with your code and
run the cell. Its automatic check says *your turn* until you have written something, then what
is still wrong, and *correct* when it is right. An unfinished exercise never stops the
notebook, so you can run it from top to bottom at any time."""


class StudentCopyError(Exception):
    """A chapter cannot be turned into a student copy (bad markers) or its copy leaks."""


@dataclass
class StudentCopy:
    notebook: nbformat.NotebookNode
    removed: list = field(default_factory=list)   # (index in the original, cell)
    public_text: str = ""      # what the chapter shows before its exercises


def _tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def _where(name: str, index: int, cell) -> str:
    first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
    return f"{name}: cell {index} ({cell.cell_type}: {first.strip()[:60]!r})"


def _title(nb, name: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return name


def make_student_copy(nb, name: str = "notebook") -> StudentCopy:
    """The student copy of ``nb`` (not modified), with the removed cells, for :func:`find_leaks`."""
    out = copy.deepcopy(nb)
    kept, removed, public = [], [], []
    open_at = None          # index of the solution-start being skipped
    seen_exercise = False
    for i, cell in enumerate(nb.cells):
        md = cell.cell_type == "markdown"
        starts = md and bool(START_RE.search(cell.source))
        ends = md and bool(END_RE.search(cell.source))
        if md and EXERCISE_RE.search(cell.source):
            seen_exercise = True
        if starts and open_at is not None:
            raise StudentCopyError(f"{_where(name, i, cell)}: a solution-start inside the solution "
                                   f"opened at cell {open_at}, which has no solution-end")
        if starts:
            open_at = i
        if open_at is not None:
            removed.append((i, cell))
            if ends:
                open_at = None
            continue
        if ends:
            raise StudentCopyError(f"{_where(name, i, cell)}: a solution-end without a solution-start")
        if "solution" in _tags(cell) or (md and SOLUTION_RE.search(cell.source)):
            removed.append((i, cell))
            continue
        new = copy.deepcopy(cell)
        if new.cell_type == "code":
            new.outputs = []
            new.execution_count = None
        if not seen_exercise:
            public.append(cell.source)
        kept.append(new)
    if open_at is not None:
        raise StudentCopyError(f"{_where(name, open_at, nb.cells[open_at])}: a solution-start "
                               "without a solution-end")
    starters = NOTE_STARTERS if any("starter" in _tags(c) for c in kept) else ""
    note = nbformat.v4.new_markdown_cell(NOTE.format(title=_title(nb, name), starters=starters))
    note.metadata["tags"] = ["student-note"]
    note.pop("id", None)
    out.cells = [note] + kept
    for k, c in enumerate(out.cells):      # unique, stable ids (nbformat ≥ 4.5)
        if "id" in c or out.nbformat_minor >= 5:
            c["id"] = c.get("id") or f"student-note-{k}"
    return StudentCopy(out, removed, "\n".join(public))


def find_leaks(sc: StudentCopy, name: str = "notebook") -> list[str]:
    """Every way solution material survives in ``sc.notebook``; empty when the copy is clean."""
    problems = []
    text = "\n".join(c.source for c in sc.notebook.cells)
    for k, cell in enumerate(sc.notebook.cells):
        where = _where(name, k, cell) + " of the copy"
        if "solution" in _tags(cell):
            problems.append(f"{where}: is tagged solution")
        if cell.cell_type == "markdown" and ANY_SOLUTION_DIRECTIVE.search(cell.source):
            problems.append(f"{where}: holds a solution directive")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"{where}: has outputs or an execution count")
    reported = set()
    for i, cell in sc.removed:
        for line in cell.source.splitlines():
            s = line.strip()
            if (len(s) < MIN_LEAK_LINE or s in sc.public_text or EXEMPT_LINE.match(s)
                    or s in reported or ANY_SOLUTION_DIRECTIVE.search(s)):
                continue
            if s in text:
                reported.add(s)
                problems.append(f"{_where(name, i, cell)}: its line {s[:70]!r} appears in the copy")
    return problems


def chapters_from_toc(toc: Path) -> list[Path]:
    """The notebooks ``toc`` lists, in reading order (Markdown pages are skipped)."""
    import yaml

    data = yaml.safe_load(Path(toc).read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key, value in node.items():
                if key != "file":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data.get("parts", data.get("chapters", [])))
    base = Path(toc).resolve().parent
    found = []
    for f in files:
        p = base / f
        p = p if p.suffix else p.with_suffix(".ipynb")
        if p.suffix == ".ipynb" and p.exists():
            found.append(p)
    return found


def _local_images(nb, nb_path: Path, root: Path) -> list[Path]:
    paths = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in IMAGE_RE.finditer(cell.source):
            ref = m.group(1) or m.group(2)
            if re.match(r"^[a-z]+:", ref) or ref.startswith("/"):
                continue
            p = (nb_path.parent / ref.split("#")[0]).resolve()
            if p.is_file() and root in p.parents:
                paths.append(p)
    return paths


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _ordinary_modes(path: Path) -> None:
    """Temporary files and folders are private (0600/0700); hand out ordinary ones."""
    mask = _umask()
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        p.chmod((0o777 if p.is_dir() else 0o666) & ~mask)


def _swap_dir(tmp: Path, dest: Path) -> None:
    """Put the finished folder ``tmp`` at ``dest`` (an old ``dest`` is removed only afterwards)."""
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old."))
        os.replace(dest, old / dest.name)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_zip(folder: Path, zip_path: Path) -> Path:
    """Atomically zip ``folder`` to ``zip_path`` (names relative to the folder, sorted)."""
    with atomic_path(zip_path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(folder).as_posix())
        _ordinary_modes(tmp)
    return Path(zip_path)


def build(notebooks, out: Path, zip_path: Path | None, root: Path = ROOT) -> list[Path]:
    """Write the student copies of ``notebooks`` under ``out`` (and zip them); return their paths."""
    out, root = Path(out).resolve(), Path(root).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part"))
    written = []
    try:
        for path in notebooks:
            path = Path(path).resolve()
            rel = path.relative_to(root) if root in path.parents else Path(path.name)
            nb = nbformat.read(path, as_version=4)
            sc = make_student_copy(nb, str(rel))
            leaks = find_leaks(sc, str(rel))
            if leaks:
                raise StudentCopyError("solution text leaks into the student copy:\n  "
                                       + "\n  ".join(leaks))
            nbformat.validate(sc.notebook)
            write_text(tmp / rel, nbformat.writes(sc.notebook) + "\n")
            written.append(out / rel)
            for img in _local_images(nb, path, root):
                target = tmp / img.relative_to(root)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(img, target)
        _ordinary_modes(tmp)
        _swap_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if zip_path is not None:
        write_zip(out, Path(zip_path))
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path,
                    help="notebooks to copy (default: every chapter in --toc)")
    ap.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    ap.add_argument("--root", type=Path, default=None,
                    help="folder the copies' paths are relative to (default: the toc's folder)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "student")
    ap.add_argument("--zip", type=Path, default=None,
                    help="zip to write (default: OUT.zip); --no-zip to skip")
    ap.add_argument("--no-zip", action="store_true")
    args = ap.parse_args(argv)
    notebooks = args.notebooks or chapters_from_toc(args.toc)
    root = args.root or (args.toc.resolve().parent if not args.notebooks else Path.cwd())
    zip_path = None if args.no_zip else (args.zip or args.out.with_suffix(".zip"))
    try:
        written = build(notebooks, args.out, zip_path, root=root)
    except StudentCopyError as e:
        print(f"make_student: {e}", file=sys.stderr)
        return 1
    print(f"make_student: {len(written)} student copies in {args.out}"
          + (f", zipped to {zip_path}" if zip_path else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
