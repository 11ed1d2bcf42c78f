"""Every chapter in the table of contents follows the book's conventions (CONTRIBUTING.md).

These are structural checks; nbval (make test-chapters) runs each chapter from its first cell."""
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


CHAPTERS = [f for f in toc_files() if f.startswith("chapters/")]
BIB_KEYS = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), re.M))


def glue_all_names(nb):
    """Names glued with gptlib.notebook.glue_all(name=value, ...) in the notebook's code cells."""
    import ast
    names = set()
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if name == "glue_all":
                    names |= {k.arg for k in node.keywords if k.arg}
    return names


def test_toc_files_exist():
    for f in toc_files():
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f"{f} is in _toc.yml but missing"
    on_disk = {f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("*.ipynb")}
    assert on_disk <= set(CHAPTERS), f"chapters not in _toc.yml: {on_disk - set(CHAPTERS)}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_conventions(chapter):
    path = ROOT / f"{chapter}.ipynb"
    if not path.exists():
        pytest.fail(f"{path} missing")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    first = nb.cells[0]
    assert first.cell_type == "code" and "setup" in first.metadata.get("tags", []), "first cell must be the setup cell"
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, "commit chapters without outputs"
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^## Summary", md, re.M), "a chapter ends with a summary"
    assert re.search(r"^## Exercises", md, re.M), "a chapter ends with exercises"
    exercises = re.findall(r"```\{exercise\}\s*\n:label:\s*(\S+)", md)
    solutions = re.findall(r"```\{solution(?:-start)?\}\s*(\S+)", md)
    assert len(exercises) >= 3, f"only {len(exercises)} exercises"
    assert set(exercises) <= set(solutions), f"exercises without solutions: {set(exercises) - set(solutions)}"
    cited = set(re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", md))
    keys = {k.strip() for c in cited for k in c.split(",")}
    assert keys, "a chapter cites its sources"
    assert keys <= BIB_KEYS, f"citations missing from references.bib: {keys - BIB_KEYS}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    glued = set(re.findall(r"glue\(\s*[\"']([^\"']+)", code)) | glue_all_names(nb)
    used = set(re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", md))
    assert used <= glued, f"prose uses numbers never glued: {used - glued}"


MAX_CODE_LINE = 90   # about what a code cell shows on the web page before it scrolls sideways
# Chapters whose code is not wrapped to the page yet. For these the test checks the opposite,
# so that the set can only shrink: once one fits, remove it from here. (Empty: all of 1-8 fit.)
NOT_YET_WRAPPED: set[str] = set()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_code_lines_fit_the_page(chapter):
    """No code line longer than MAX_CODE_LINE characters, so code reads without scrolling.

    The generated setup cell (tools/setup_cell.py, checked by its own test) is left out."""
    path = ROOT / f"{chapter}.ipynb"
    if not path.exists():
        pytest.fail(f"{path} missing")
    nb = nbformat.read(path, as_version=4)
    too_long = [f"cell {i}, line {j}: {len(line)} characters: {line[:60]}..."
                for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and "setup" not in c.metadata.get("tags", [])
                for j, line in enumerate(c.source.splitlines(), start=1)
                if len(line) > MAX_CODE_LINE]
    if chapter in NOT_YET_WRAPPED:
        assert too_long, f"{chapter} fits the page now: remove it from NOT_YET_WRAPPED"
        return
    assert not too_long, (f"{len(too_long)} code lines over {MAX_CODE_LINE} characters:\n"
                          + "\n".join(too_long[:20]))


# ------------------------------------------------------------------ the exercise format
# CONTRIBUTING.md, "Exercises, checks and student copies". For every chapter in _toc.yml:
EXERCISE_RE = re.compile(r"```\{exercise\}\s*\n:label:\s*(\S+)")
START_RE = re.compile(r"```\{solution-start\}\s*(\S+)")
END_RE = re.compile(r"```\{solution-end\}")
ATTEMPT_RE = re.compile(r"gptlib\.exercises\.attempt\(\s*[\"']([^\"']+)[\"']")
CHECK_RE = re.compile(r"gptlib\.exercises\.check\(\s*[\"']([^\"']+)[\"']")


def exercise_blocks(nb):
    """[(label, [cells from its {exercise} to the next exercise or the end])], in order."""
    blocks = []
    for c in nb.cells:
        m = EXERCISE_RE.search(c.source) if c.cell_type == "markdown" else None
        if m:
            blocks.append((m.group(1), []))
        if blocks:
            blocks[-1][1].append(c)
    return blocks


def _tags(c):
    return c.metadata.get("tags", [])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_format(chapter):
    """At least three exercises; each has its solution-start and solution-end; a starter calls
    gptlib.exercises.attempt with its own exercise's label and raises NotImplementedError; an
    exercise with a starter has a solution cell calling gptlib.exercises.check with the same
    label, and that label has a registered check; at least one code exercise per numbered
    chapter (chapters/NN_*; the back matter, e.g. the appendix, is exempt from that one rule)."""
    from gptlib import exercises as ex
    path = ROOT / f"{chapter}.ipynb"
    if not path.exists():
        pytest.fail(f"{path} missing")
    nb = nbformat.read(path, as_version=4)
    blocks = exercise_blocks(nb)
    assert len(blocks) >= 3, f"{chapter}: only {len(blocks)} exercises (at least 3)"
    known = set(ex.known_checks())
    code_exercises = 0
    for label, cells in blocks:
        md = [c for c in cells if c.cell_type == "markdown"]
        starts = [m.group(1) for c in md for m in START_RE.finditer(c.source)]
        ends = sum(len(END_RE.findall(c.source)) for c in md)
        assert starts == [label], (f"{chapter} {label}: needs exactly one "
                                   f"```{{solution-start}} {label}``` (found {starts})")
        assert ends == 1, f"{chapter} {label}: needs exactly one ```{{solution-end}}``` (found {ends})"
        i_start = next(i for i, c in enumerate(cells) if START_RE.search(c.source))
        i_end = next(i for i, c in enumerate(cells) if END_RE.search(c.source))
        assert i_start < i_end, f"{chapter} {label}: solution-end before solution-start"
        starters = [c for c in cells if c.cell_type == "code" and "starter" in _tags(c)]
        for c in starters:
            assert ATTEMPT_RE.findall(c.source) == [label], (
                f"{chapter} {label}: its starter must call "
                f"gptlib.exercises.attempt(\"{label}\", ...) (found {ATTEMPT_RE.findall(c.source)})")
            assert "raise NotImplementedError" in c.source, (
                f"{chapter} {label}: its starter must `raise NotImplementedError` where the student "
                "writes")
            assert "solution" not in _tags(c), f"{chapter} {label}: a starter is not a solution"
        assert all(cells.index(c) < i_start for c in starters), (
            f"{chapter} {label}: the starter comes before the solution-start")
        if not starters:
            continue
        code_exercises += 1
        inside = cells[i_start + 1:i_end]
        solutions = [c for c in inside if c.cell_type == "code" and "solution" in _tags(c)]
        untagged = [c for c in inside if c.cell_type == "code" and "solution" not in _tags(c)]
        assert not untagged, f"{chapter} {label}: code between solution-start and -end must be tagged solution"
        checked = {lab for c in solutions for lab in CHECK_RE.findall(c.source)}
        assert checked == {label}, (f"{chapter} {label}: a solution cell must call "
                                    f"gptlib.exercises.check(\"{label}\", ...) (found {checked})")
        assert label in known, (f"{chapter} {label}: no check registered for it in "
                                "gptlib/exercises/ (gptlib.exercises.known_checks())")
    if re.match(r"chapters/\d+_", chapter):       # numbered chapters; back matter may have none
        assert code_exercises >= 1, f"{chapter}: no code exercise (a starter, a solution and a check)"


def test_every_registered_check_is_used_by_a_chapter():
    """A check in gptlib/exercises/ that no chapter's solution calls is dead code (or a typo in
    the label). Chapters on disk count, in or not yet in _toc.yml (test_toc_files_exist covers
    that)."""
    from gptlib import exercises as ex
    used = set()
    for p in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(p, as_version=4)
        used |= {lab for c in nb.cells if c.cell_type == "code"
                 for lab in CHECK_RE.findall(c.source)}
    unused = [lab for lab in ex.known_checks() if re.fullmatch(r"ch\d+-ex\d+", lab) and lab not in used]
    assert not unused, f"registered checks that no chapter calls: {unused}"
