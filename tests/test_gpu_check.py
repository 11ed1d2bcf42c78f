"""tools/run_chapter.py (a notebook's code cells run as a script) and tools/gpu_check.sh in its CPU mode."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tools" / "run_chapter.py"
CHECK = ROOT / "tools" / "gpu_check.sh"


def load_runner():
    spec = importlib.util.spec_from_file_location("run_chapter", RUNNER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_notebook(path: Path, cells) -> Path:
    """cells: (kind, source) or (kind, source, tags) tuples; a minimal nbformat-4 notebook."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}}, "cells": []}
    for c in cells:
        kind, src, tags = (c + ([],))[:3]
        cell = {"cell_type": kind, "metadata": {"tags": tags} if tags else {}, "source": src}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        nb["cells"].append(cell)
    path.write_text(json.dumps(nb))
    return path


def run_chapter(nb: Path, out: Path, *extra, timeout=120, wrap=()):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([*wrap, sys.executable, str(RUNNER), str(nb), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=timeout, env=env)


# --------------------------------------------------------------------------------- run_chapter
def test_transform_source_neutralises_magics():
    rc = load_runner()
    assert rc.transform_source("x = 1\n") == ("x = 1\n", "")
    code, note = rc.transform_source("%matplotlib inline\nimport math\n!pip install foo\nfiles = !ls\n%time y = 2\n")
    compile(code, "<t>", "exec")
    assert "import math" in code and "y = 2" in code and "pip" not in code.replace("# magic skipped: !pip", "")
    assert "4 magic line(s)" in note
    assert rc.transform_source("%%bash\necho hi\n")[0] is None
    body, note = rc.transform_source("%%time\nz = 3\n")
    assert body.strip() == "z = 3" and "%%time" in note
    # a cell that is valid Python is left alone, even with '%' or '!' at a line start inside a string
    src = 's = """\n%not a magic\n!nor this\n"""\n'
    assert rc.transform_source(src) == (src, "")


def test_runner_records_glue_skips_magics_and_saves_figures(tmp_path):
    nb = make_notebook(tmp_path / "tiny.ipynb", [
        ("markdown", "# A tiny chapter"),
        ("code", "%matplotlib inline\nimport gptlib\nfrom gptlib.notebook import glue\nrt = gptlib.get_runtime()"),
        ("code", "gptlib.glue('answer', f'{6 * 7}')\nglue('pi', 3.14159)\nglue('n', 3);"),
        ("code", "!echo this never runs\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()"),
        ("code", "from IPython.display import display, Markdown\ndisplay(Markdown('**shown**'))\n"
                 "fig2, ax2 = plt.subplots()\nh = display(fig2, display_id=True)\nax2.plot([3, 1])\nh.update(fig2)"),
        ("code", "%%bash\necho skipped"),
        ("code", "print('skipped by tag')", ["nbval-skip"]),
        ("code", "raise ValueError('expected')", ["raises-exception"]),
        ("code", "{'last': 'expression'}"),
    ])
    out = tmp_path / "out"
    r = run_chapter(nb, out)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((out / "tiny.json").read_text())
    assert res["status"] == "ok" and res["failed_cell"] is None
    assert res["glue"] == {"answer": "42", "pi": 3.14159, "n": 3}
    assert res["glue_cells"]["answer"] == 2
    cells = {c["index"]: c for c in res["cells"]}
    assert [c["index"] for c in res["cells"]] == [1, 2, 3, 4, 5, 6, 7, 8]   # markdown cells are not run
    assert cells[2]["glued"] == ["answer", "pi", "n"] and cells[2]["seconds"] >= 0
    assert "magic" in cells[1]["note"] and "magic" in cells[3]["note"]
    assert cells[5]["status"] == "skipped" and cells[6]["status"] == "skipped"
    assert cells[7]["status"] == "error-expected" and "expected" in cells[7]["error"]
    assert "**shown**" in cells[4]["stdout_tail"] and "'last': 'expression'" in cells[8]["stdout_tail"]
    assert "this never runs" not in r.stdout
    assert len(res["figures"]) == 2 and all((out / f).exists() for f in res["figures"])
    executed = json.loads((out / "tiny.executed.ipynb").read_text())
    kinds = [o["output_type"] for o in executed["cells"][3]["outputs"]]
    assert "display_data" in kinds
    assert res["profile"] == os.environ.get("GPTLIB_PROFILE", res["profile"])


def test_runner_stops_at_the_failing_cell_and_reports_it(tmp_path):
    nb = make_notebook(tmp_path / "broken.ipynb", [
        ("code", "import gptlib\ngptlib.glue('before', 'yes')"),
        ("markdown", "text"),
        ("code", "x = 1\nassert x == 2, 'x is not two'"),
        ("code", "gptlib.glue('after', 'never')"),
    ])
    out = tmp_path / "out"
    r = run_chapter(nb, out)
    assert r.returncode == 1
    assert "failed at cell 2 (code cell 2)" in r.stderr and "assert x == 2" in r.stderr
    assert "AssertionError: x is not two" in r.stderr
    res = json.loads((out / "broken.json").read_text())
    assert res["status"] == "error" and res["glue"] == {"before": "yes"}
    fc = res["failed_cell"]
    assert fc["index"] == 2 and fc["code_cell"] == 2 and "assert x == 2" in fc["source"]
    assert "AssertionError" in fc["error"] and '<cell 2>' in fc["traceback"]
    assert [c["index"] for c in res["cells"]] == [0, 2]                    # cell 3 never ran


def test_runner_writes_its_progress_when_killed_by_timeout(tmp_path):
    nb = make_notebook(tmp_path / "slow.ipynb", [
        ("code", "import gptlib\ngptlib.glue('started', 'yes')"),
        ("code", "import time\ntime.sleep(60)"),
    ])
    out = tmp_path / "out"
    r = run_chapter(nb, out, wrap=("timeout", "5"))
    assert r.returncode == 124
    res = json.loads((out / "slow.json").read_text())
    assert res["status"] == "timeout" and res["failed_cell"]["index"] == 1
    assert res["glue"] == {"started": "yes"}


# ---------------------------------------------------------------------------- gpu_check.sh, CPU
def gpu_check(out: Path, **env):
    full = {**os.environ, "OUT": str(out), "GPU_CHECK_MODE": "cpu", "PYTHON": sys.executable, **env}
    return subprocess.run(["bash", str(CHECK)], capture_output=True, text=True, timeout=300, env=full, cwd=ROOT)


@pytest.mark.slow
def test_gpu_check_cpu_mode_runs_every_step(tmp_path):
    out = tmp_path / "out"
    r = gpu_check(out, GPU_CHECK_QUICK="1")
    log = r.stdout[-4000:] + r.stderr[-2000:]
    assert r.returncode == 0, log
    summary = (out / "summary.txt").read_text()
    assert "CPU MODE" in summary and "None of these are GPU figures" in summary
    assert summary.strip().splitlines()[-1].startswith("RESULT: PASS")
    assert summary in r.stdout + "\n"
    s = json.loads((out / "summary.json").read_text())
    assert s["mode"] == "cpu" and s["result"] == "PASS"
    steps = {x["name"]: x for x in s["steps"]}
    assert set(steps) == {"setup", "tests", "bench", "chapter:04_attention"}
    assert all(x["status"] == "pass" for x in steps.values())
    assert steps["tests"]["failed"] == 0 and steps["tests"]["skipped"] >= 1     # test_cuda.py skips here
    bench = json.loads((out / "bench.json").read_text())
    assert bench["tokens_per_s"] > 0 and bench["seconds_to_target"] is not None and bench["mfu"] > 0
    chapter = json.loads((out / "chapters" / "04_attention.json").read_text())
    assert chapter["status"] == "ok" and chapter["profile"] == "smoke"
    assert chapter["glue"] and chapter["cells_run"] == chapter["cells_total"]
    assert all("seconds" in c for c in chapter["cells"])


def test_gpu_check_reports_a_failing_chapter(tmp_path):
    nb = make_notebook(tmp_path / "broken_chapter.ipynb", [
        ("code", "import gptlib\nrt = gptlib.get_runtime()\ngptlib.glue('ok', '1')"),
        ("code", "raise RuntimeError('this cell is broken')"),
    ])
    out = tmp_path / "out"
    r = gpu_check(out, GPU_CHECK_STEPS="chapters", GPU_CHECK_CHAPTERS=str(nb))
    assert r.returncode == 1, r.stdout[-3000:]
    summary = (out / "summary.txt").read_text()
    assert "RESULT: FAIL" in summary and "chapter:broken_chapter" in summary
    assert "failed at cell 1 (code cell 2): RuntimeError: this cell is broken" in summary
    assert "this cell is broken" in r.stdout               # the failing log's end is shown too
    res = json.loads((out / "chapters" / "broken_chapter.json").read_text())
    assert res["status"] == "error" and res["failed_cell"]["index"] == 1 and res["glue"] == {"ok": "1"}
