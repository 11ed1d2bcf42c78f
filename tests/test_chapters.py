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
    glued = set(re.findall(r"glue\(\s*[\"']([^\"']+)", code))
    used = set(re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", md))
    assert used <= glued, f"prose uses numbers never glued: {used - glued}"
