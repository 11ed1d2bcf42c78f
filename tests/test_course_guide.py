"""The course guide (course_guide.md) is generated from the chapters and the measured times, and
the committed page is up to date; tools/chapter_times.py turns run_chapter JSONs into the times."""
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


guide = _load("course_guide")
times = _load("chapter_times")
CHAPTERS = [f for _, files in guide.toc_parts(ROOT / "_toc.yml") for f in files
            if re.match(r"chapters/\d\d_", f)]


def test_the_committed_guide_is_up_to_date():
    data = json.loads((ROOT / "assets" / "chapter_times.json").read_text())
    fresh = guide.render(ROOT / "_toc.yml", data)
    committed = (ROOT / "course_guide.md").read_text()
    assert committed == fresh, ("course_guide.md is out of date (a chapter, its objectives, its "
                                "exercises or assets/chapter_times.json changed): run "
                                "`.venv/bin/python tools/course_guide.py`")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_opens_with_objectives(chapter):
    """The guide's objectives are the chapter's own "you will be able to" list."""
    info = guide.chapter_info(chapter)
    assert len(info["objectives"]) >= 1, (f"{chapter}: no opening 'you will be able to' bullet "
                                          "list for the course guide")
    assert all(len(o) > 15 for o in info["objectives"])


def test_objectives_are_the_bullets_joined():
    md = ("Intro.\n\nBy the end you will be able to:\n\n* compute a thing\n  over two lines;\n"
          "* check it against {doc}`04_attention` and {glue}`x`.\n\n## Next\n* not this\n")
    assert guide.objectives(md) == ["compute a thing over two lines",
                                    "check it against {doc}`chapters/04_attention` and …"]


def _run(path, cells, flops, status="ok", machine=True):
    run = {"status": status, "profile": "cpu", "seconds": sum(cells), "torch": "2.x",
           "cells_total": len(cells), "python": "3.11",
           "cells": [{"index": i, "seconds": s, "train_flops": f} for i, (s, f) in
                     enumerate(zip(cells, flops))],
           "train_flops": sum(flops)}
    if machine:
        run["machine"] = {"cpu": "Test CPU", "cores": 2, "date": "2026-01-01T00:00:00Z",
                          "loadavg_start": [1.0, 1.0, 1.0], "loadavg_end": [2.0, 2.0, 2.0]}
    path.write_text(json.dumps(run))


def test_chapter_times_measures_cpu_and_estimates_t4(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    _run(runs / "05_positional_encoding.json", [2.0, 100.0, 3.0], [0.0, 6.5e13, 0.0])
    _run(runs / "06_residuals_layernorm.json", [1.0, 1.0], [0.0, 0.0], status="error")
    toc = tmp_path / "_toc.yml"
    toc.write_text("parts:\n  - chapters:\n      - file: chapters/05_positional_encoding\n"
                   "      - file: chapters/06_residuals_layernorm\n"
                   "      - file: chapters/07_gpt_architecture\n")
    out = times.collect(runs, toc, peak=65e12, utilisation=0.25)
    ch5 = out["chapters"]["05_positional_encoding"]
    assert ch5["cpu_seconds"] == 105.0 and ch5["train_flops"] == 6.5e13
    # the training cell: 6.5e13 / (65e12 × 0.25) = 4 s; the others as measured: 2 + 3
    assert ch5["t4_seconds_estimate"] == pytest.approx(9.0)
    assert ch5["train_seconds_cpu"] == 100.0 and ch5["loadavg_start"] == [1.0, 1.0, 1.0]
    assert out["chapters"]["06_residuals_layernorm"]["cpu_seconds"] is None
    assert out["chapters"]["07_gpt_architecture"] == {"status": "not run"}
    assert out["machine"]["cpu"] == "Test CPU" and out["t4"]["utilisation"] == 0.25
    page = guide.render(ROOT / "_toc.yml", out)
    assert "1.8 min" in page and "9 s" in page and "assumed utilisation of 25%" in page


def test_chapter_times_without_flops_gives_no_estimate(tmp_path):
    _run(tmp_path / "05_positional_encoding.json", [5.0], [0.0], machine=False)
    run = json.loads((tmp_path / "05_positional_encoding.json").read_text())
    del run["train_flops"]
    (tmp_path / "05_positional_encoding.json").write_text(json.dumps(run))
    (tmp_path / "summary.txt").write_text("05_positional_encoding rc=0 wall=5s load_start=1.50 "
                                          "load_end=1.75\n")
    toc = tmp_path / "_toc.yml"
    toc.write_text("parts:\n  - chapters:\n      - file: chapters/05_positional_encoding\n")
    ch5 = times.collect(tmp_path, toc)["chapters"]["05_positional_encoding"]
    assert ch5["cpu_seconds"] == 5.0 and ch5["t4_seconds_estimate"] is None
    assert ch5["loadavg_start"] == [1.5] and ch5["loadavg_end"] == [1.75]
