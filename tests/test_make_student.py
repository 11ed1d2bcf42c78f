"""tools/make_student.py: student copies drop solutions, keep starters, never leak, and still run."""
from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_student", ROOT / "tools" / "make_student.py")
ms = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("make_student", ms)
_spec.loader.exec_module(ms)

SOLUTION_LINE = "return torch.softmax(scores / math.sqrt(d_k), dim=-1)"


def tagged(cell, tag):
    cell.metadata["tags"] = [tag]
    return cell


def chapter(*extra_cells):
    """A small chapter: a body, a code exercise (starter + gated solution), a written exercise."""
    cells = [
        new_markdown_cell("# Tiny chapter\n\nWhat you will be able to do."),
        new_code_cell("x = compute_the_body_of_the_chapter(42)  # shown to every reader"),
        new_markdown_cell("## Exercises"),
        new_markdown_cell("```{exercise}\n:label: tiny-ex1\nWrite the attention weights.\n```"),
        tagged(new_code_cell("def weights(scores, d_k):\n    # your code here\n"
                             "    raise NotImplementedError\n\n"
                             'gptlib.exercises.attempt("tiny-ex1", weights);'), "starter"),
        new_markdown_cell("```{solution-start} tiny-ex1\n:class: dropdown\n```"),
        new_markdown_cell("Divide by the square root of the key width before the softmax."),
        tagged(new_code_cell("def weights(scores, d_k):\n    " + SOLUTION_LINE + "\n\n"
                             'gptlib.exercises.check("tiny-ex1", weights)'), "solution"),
        new_markdown_cell("```{solution-end}\n```"),
        new_markdown_cell("```{exercise}\n:label: tiny-ex2\nWhy does the scaling matter?\n```"),
        new_markdown_cell("```{solution-start} tiny-ex2\n:class: dropdown\n```"),
        new_markdown_cell("Without it the softmax saturates as d_k grows and gradients vanish."),
        new_markdown_cell("```{solution-end}\n```"),
        new_markdown_cell("```{solution} tiny-ex2\nAn ungated solution directive, also dropped.\n```"),
        tagged(new_code_cell("print('a stray solution cell outside any directive pair')"), "solution"),
        *extra_cells,
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="42\n")]
    nb.cells[1].execution_count = 3
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def sources(nb):
    return "\n".join(c.source for c in nb.cells)


def test_solutions_removed_starters_kept_outputs_cleared():
    sc = ms.make_student_copy(chapter(), "tiny")
    nb, text = sc.notebook, sources(sc.notebook)
    assert "Student edition" in nb.cells[0].source and "your turn" in nb.cells[0].source
    assert not any("solution" in c.metadata.get("tags", []) for c in nb.cells)
    for gone in ("{solution", SOLUTION_LINE, "square root of the key width", "saturates",
                 "ungated solution", "stray solution cell"):
        assert gone not in text, gone
    starters = [c for c in nb.cells if "starter" in c.metadata.get("tags", [])]
    assert len(starters) == 1 and "raise NotImplementedError" in starters[0].source
    assert text.count("{exercise}") == 2
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert len(sc.removed) == 9
    assert ms.find_leaks(sc, "tiny") == []
    nbformat.validate(nb)


def test_missing_solution_end_is_an_error(tmp_path):
    nb = chapter()
    del nb.cells[8]                                   # the solution-end of tiny-ex1
    with pytest.raises(ms.StudentCopyError, match=r"tiny.*cell 5.*without a solution-end|"
                                                  r"tiny.*cell \d+.*no solution-end"):
        ms.make_student_copy(nb, "tiny")
    nb = chapter()
    del nb.cells[12]                                  # the last solution-end: runs off the end
    with pytest.raises(ms.StudentCopyError, match=r"tiny: cell 10 .*without a solution-end"):
        ms.make_student_copy(nb, "tiny")


def test_cli_fails_loudly_with_chapter_and_cell(tmp_path, capsys):
    nb = chapter()
    del nb.cells[12]
    path = write(nb, tmp_path / "chapters" / "99_tiny.ipynb")
    out = tmp_path / "build" / "student"
    rc = ms.main([str(path), "--root", str(tmp_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "chapters/99_tiny.ipynb: cell 10" in err and "solution-end" in err
    assert not out.exists() and not (tmp_path / "build" / "student.zip").exists()
    assert not [p for p in (tmp_path / "build").iterdir()]  # no half-written folder left behind


def test_end_without_start_is_an_error():
    nb = chapter()
    nb.cells.insert(2, new_markdown_cell("```{solution-end}\n```"))
    with pytest.raises(ms.StudentCopyError, match="cell 2.*solution-end without a solution-start"):
        ms.make_student_copy(nb, "tiny")


@pytest.mark.parametrize("where", ["starter", "markdown"])
def test_leak_check_catches_a_copied_solution_line(where):
    nb = chapter()
    if where == "starter":
        nb.cells[4].source = nb.cells[4].source.replace("# your code here", "# " + SOLUTION_LINE)
    else:
        nb.cells[3].source = nb.cells[3].source.replace("Write", f"Hint: `{SOLUTION_LINE}`. Write")
    leaks = ms.find_leaks(ms.make_student_copy(nb, "tiny"), "tiny")
    assert len(leaks) == 1 and SOLUTION_LINE[:40] in leaks[0] and "tiny: cell 7" in leaks[0]


def test_leak_check_ignores_short_lines_signatures_and_the_body():
    nb = chapter()
    # the solution shares its def line and `raise NotImplementedError`-sized lines with the starter,
    # and reuses a line of the chapter's body: none of that is solution text
    nb.cells[7].source = ("def weights(scores, d_k):\n    x = compute_the_body_of_the_chapter(42)\n"
                          "    return x\n" + nb.cells[7].source.split("\n", 1)[1])
    assert ms.find_leaks(ms.make_student_copy(nb, "tiny"), "tiny") == []


def test_leak_check_catches_tags_directives_and_outputs():
    sc = ms.make_student_copy(chapter(), "tiny")
    sc.notebook.cells.append(tagged(new_code_cell("pass"), "solution"))
    sc.notebook.cells.append(new_markdown_cell("```{solution-start} x\n```"))
    c = new_code_cell("print(1)")
    c.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    sc.notebook.cells.append(c)
    leaks = "\n".join(ms.find_leaks(sc, "tiny"))
    assert "tagged solution" in leaks and "solution directive" in leaks and "outputs" in leaks


def test_build_writes_folder_and_zip_with_the_same_files(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "fig.svg").write_text("<svg/>")
    nb1 = chapter(new_markdown_cell("![a figure](../assets/fig.svg)"))
    p1 = write(nb1, tmp_path / "chapters" / "01_a.ipynb")
    p2 = write(chapter(), tmp_path / "chapters" / "02_b.ipynb")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: One\n    chapters:\n"
        "      - file: chapters/01_a\n      - file: chapters/02_b\n")
    assert ms.chapters_from_toc(tmp_path / "_toc.yml") == [p1, p2]
    out = tmp_path / "_build" / "student"
    (out).mkdir(parents=True)
    (out / "stale.ipynb").write_text("{}")             # an old build is replaced, not merged
    assert ms.main(["--toc", str(tmp_path / "_toc.yml"), "--out", str(out)]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["assets/fig.svg", "chapters/01_a.ipynb", "chapters/02_b.ipynb"]
    with zipfile.ZipFile(tmp_path / "_build" / "student.zip") as z:
        assert sorted(z.namelist()) == files
        for name in files:
            assert z.read(name) == (out / name).read_bytes()
    copy = nbformat.read(out / "chapters" / "01_a.ipynb", as_version=4)
    assert SOLUTION_LINE not in sources(copy) and "Student edition" in copy.cells[0].source
    assert sorted(p.name for p in (tmp_path / "_build").iterdir()) == ["student", "student.zip"]
    assert (out / "chapters" / "01_a.ipynb").stat().st_mode & 0o777 == 0o666 & ~ms._umask()


def test_the_books_chapters_make_clean_copies():
    """Every chapter in _toc.yml, as it stands, gives a copy without leaks (no execution)."""
    for path in ms.chapters_from_toc(ROOT / "_toc.yml"):
        nb = nbformat.read(path, as_version=4)
        name = path.relative_to(ROOT).as_posix()
        sc = ms.make_student_copy(nb, name)
        assert ms.find_leaks(sc, name) == []
        nbformat.validate(sc.notebook)


RUNNABLE_CELLS = [
    new_code_cell(
        "import torch, gptlib.exercises as ex\n"
        "@ex.register('test-ex1')\n"
        "def _check(fn):\n"
        "    x = torch.randn(3, 4)\n"
        "    ex.compare(fn(x), x.softmax(-1), 'the weights',\n"
        "               mistakes={'softmax over the wrong axis': x.softmax(0)})\n"
        "    return 'correct'"),
    new_markdown_cell("```{exercise}\n:label: test-ex1\nWrite a row softmax.\n```"),
    tagged(new_code_cell("def row_softmax(x):\n    # your code here\n    raise NotImplementedError\n\n"
                         "gptlib_ok = ex.attempt('test-ex1', row_softmax)"), "starter"),
    new_markdown_cell("```{solution-start} test-ex1\n:class: dropdown\n```"),
    tagged(new_code_cell("def row_softmax(x):\n    return torch.exp(x) / torch.exp(x).sum(-1, keepdim=True)"
                         "\n\nex.check('test-ex1', row_softmax)"), "solution"),
    new_markdown_cell("```{solution-end}\n```"),
    new_code_cell("print('reached the end of the notebook')"),
]


def test_student_copy_runs_to_the_end_with_an_unfilled_starter(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nb = new_notebook(cells=[nbformat.from_dict(c) for c in RUNNABLE_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    sc = ms.make_student_copy(nb, "runnable")
    assert ms.find_leaks(sc, "runnable") == []
    copy = sc.notebook
    nbclient.NotebookClient(copy, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = {i: "".join(o.get("text", "") for o in c.outputs)
           for i, c in enumerate(copy.cells) if c.cell_type == "code"}
    starter = next(i for i, c in enumerate(copy.cells) if "starter" in c.metadata.get("tags", []))
    assert "test-ex1: your turn" in out[starter]
    assert "reached the end of the notebook" in out[max(out)]
    assert not any(o.get("output_type") == "error" for c in copy.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "return torch.exp(x)" not in "".join(out.values())     # no solution in any output


def test_colon_fences_and_longer_backtick_fences_are_recognised():
    nb = new_notebook(cells=[
        new_markdown_cell("# T"),
        new_markdown_cell(":::{exercise}\n:label: t-ex1\nQ?\n:::"),
        new_markdown_cell(":::{solution-start} t-ex1\n:class: dropdown\n:::"),
        new_markdown_cell("The full answer to the question, hidden from students."),
        new_markdown_cell(":::{solution-end}\n:::"),
        new_markdown_cell("````{solution-start} t-ex1\n````"),
        new_markdown_cell("A second answer, also hidden from the students."),
        new_markdown_cell("````{solution-end}\n````"),
    ])
    sc = ms.make_student_copy(nb, "t")
    assert [c.source for c in sc.notebook.cells[1:]] == ["# T", nb.cells[1].source]
    assert ms.find_leaks(sc, "t") == []
