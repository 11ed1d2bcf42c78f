#!/usr/bin/env python3
"""Write the course guide page, ``course_guide.md``, from the chapters and the measured times.

    python tools/course_guide.py [--times assets/chapter_times.json] [--out course_guide.md]

Everything chapter-specific is extracted, so the page stays in sync with the book
(``tests/test_course_guide.py`` fails when the committed page differs from a fresh one):

* learning objectives: each chapter's opening "you will be able to" bullet list;
* prerequisites: the earlier chapters a chapter links to (``{doc}`` references), else the one
  before it;
* exercises: every ``{exercise}`` with its label, whether it is a code exercise (a starter cell and
  an automatic check in ``gptlib.exercises``) or a written one;
* times: ``assets/chapter_times.json`` (``tools/chapter_times.py``): measured on a CPU, estimated
  for a Colab T4.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVES_RE = re.compile(r"you\s+will\s+be\s+able\s+to:?[ \t]*\n(?:[ \t]*\n)*"
                           r"((?:[ \t]*[-*][ \t].*\n?(?:[ \t]+\S.*\n?)*)+)", re.I)
EXERCISE_RE = re.compile(r"```\{exercise\}\s*\n:label:\s*(\S+)\s*\n(.*?)```", re.S)
DOC_RE = re.compile(r"\{doc\}`(?:[^`<]*<)?(?:\.\./)?(?:chapters/)?(\d\d_[\w-]+)>?`")


def toc_parts(toc: Path) -> list[tuple[str, list[str]]]:
    data = yaml.safe_load(toc.read_text())
    return [(p.get("caption", ""), [c["file"] for c in p.get("chapters", [])])
            for p in data.get("parts", [])]


def objectives(md: str) -> list[str]:
    """The bullets after the first "you will be able to", each joined into one line."""
    m = OBJECTIVES_RE.search(md)
    if not m:                        # a sentence instead of a list: that sentence, as one item
        m = re.search(r"you\s+will\s+be\s+able\s+to:?\s+(.+?)(?:\.\s|\.$|\n\s*\n)", md, re.I | re.S)
        return [re.sub(r"\s+", " ", m.group(1)).strip()] if m else []
    items = []
    for line in m.group(1).splitlines():
        if re.match(r"[ \t]*[-*][ \t]", line):
            items.append(re.sub(r"^[ \t]*[-*][ \t]+", "", line).strip())
        elif line.strip() and items:
            items[-1] += " " + line.strip()
    items = [re.sub(r"[;.]$|;\s*and$", "", it).strip() for it in items]
    # a number glued in the chapter does not exist on this page; a chapter's {doc} link is
    # relative to chapters/
    items = [re.sub(r"\{glue(?::\w+)?\}`[^`]*`", "…", it) for it in items]
    return [DOC_RE.sub(lambda m: f"{{doc}}`chapters/{m.group(1)}`", it) for it in items]


def exercise_info(nb) -> list[dict]:
    out = []
    cells = nb.cells
    for i, c in enumerate(cells):
        if c.cell_type != "markdown":
            continue
        m = EXERCISE_RE.search(c.source)
        if not m:
            continue
        label, body = m.group(1), m.group(2).strip()
        nxt = next((d for d in cells[i + 1:] if d.cell_type == "code" or
                    EXERCISE_RE.search(d.source)), None)
        code = nxt is not None and nxt.cell_type == "code" and "starter" in nxt.metadata.get("tags", [])
        bold = re.match(r"\*\*(.+?)\*\*", body)
        if bold:
            title = bold.group(1).strip().rstrip(".")
        else:
            words = re.sub(r"\s+", " ", body).split(" ")
            title = " ".join(words[:12]) + (" …" if len(words) > 12 else "")
        out.append({"label": label, "code": code, "title": title})
    return out


def chapter_info(name: str) -> dict:
    nb = nbformat.read(ROOT / f"{name}.ipynb", as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    title = next((m.group(1).strip() for c in nb.cells if c.cell_type == "markdown"
                  for m in [re.search(r"^#\s+(.+)$", c.source, re.M)] if m), Path(name).name)
    return {"name": name, "stem": Path(name).name, "title": title,
            "objectives": objectives(md + "\n"), "links": DOC_RE.findall(md),
            "exercises": exercise_info(nb)}


def _minutes(seconds) -> str:
    if seconds is None:
        return "not measured yet"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def render(toc: Path, times: dict | None) -> str:
    parts = toc_parts(toc)
    chapters = [chapter_info(f) for _, files in parts for f in files
                if f.startswith("chapters/") and (ROOT / f"{f}.ipynb").exists()]
    numbered = [c for c in chapters if re.match(r"\d\d_", c["stem"])]
    order = [c["stem"] for c in chapters]
    title_of = {c["stem"]: c["title"] for c in chapters}
    t = (times or {}).get("chapters", {})
    t4 = (times or {}).get("t4", {})
    machine = (times or {}).get("machine") or {}
    if isinstance(machine, list):
        machine = machine[0] if machine else {}
    L = []
    w = L.append
    w("# Course guide\n")
    w("For instructors and for readers who study the book on their own: what each chapter teaches, "
      "what it builds on, how long it takes to run, a week-by-week plan of exercises and a grading "
      "rubric. This page is generated by `tools/course_guide.py` from the chapters themselves "
      "(their opening objectives, their links, their exercises) and from the measured run times in "
      "`assets/chapter_times.json`; do not edit it by hand.\n")
    w("## Prerequisites for the whole course\n")
    w("* Python, and enough PyTorch to read tensor code (shapes, broadcasting, `autograd`, "
      "`nn.Module`);\n* linear algebra: matrix products, dot products, norms;\n"
      "* probability: distributions, logarithms, expectations; calculus: the chain rule.\n\n"
      "Each chapter runs alone in a fresh Colab runtime or on a laptop; the prerequisites below say "
      "which earlier chapters it builds on (the ones it links to).\n")
    # ---------------------------------------------------------------------------- times
    w("## How long each chapter takes to run\n")
    if machine:
        load = [c.get("loadavg_start") for c in t.values() if c.get("loadavg_start")]
        load_txt = (f"; 1-minute load average at the start of the runs between "
                    f"{min(x[0] for x in load):.2f} and {max(x[0] for x in load):.2f}") if load else ""
        w(f"**Laptop CPU (measured).** Each chapter was run from its first cell to its last in the "
          f"`cpu` profile with `tools/run_chapter.py`, on {machine.get('cpu', 'a CPU')} "
          f"({machine.get('cores', '?')} cores), torch {machine.get('torch', '?')}{load_txt}. "
          "Models that several chapters share were already trained (a first run also trains them). "
          "The machine was shared with other work, so a dedicated laptop may be faster.\n")
    else:
        w("**Laptop CPU.** Not measured yet: run `tools/run_chapter.py` on each chapter, then "
          "`tools/chapter_times.py`.\n")
    peak = t4.get("peak_flops", 65e12)
    util = t4.get("utilisation", 0.25)
    w(f"**Colab T4 (estimated, not measured).** The same work as the CPU run: every cell that "
      f"trains takes its training FLOPs (6·N·tokens, counted by `gptlib.training` during the CPU "
      f"run) divided by the T4's published fp16 tensor-core peak of {peak / 1e12:.0f} TFLOP/s at an "
      f"assumed utilisation of {util:.0%}; every other cell keeps its CPU time, an upper bound. On "
      "a GPU the book runs its `gpu` profile, which trains larger models for longer, so a real "
      "GPU run of the book does more work than this.\n")
    w("| Chapter | CPU (measured) | T4 (estimate, same work) | training FLOPs |")
    w("|---|---|---|---|")
    for c in chapters:
        r = t.get(c["stem"], {})
        status = r.get("status")
        cpu = _minutes(r.get("cpu_seconds")) if status in (None, "ok", "not run") else f"{status} (no time yet)"
        fl = r.get("train_flops")
        w(f"| {{doc}}`{c['name']}` | {cpu} | {_minutes(r.get('t4_seconds_estimate')) if r.get('t4_seconds_estimate') is not None else 'not estimated yet'} "
          f"| {f'{fl:.2e}' if fl else ('none' if fl == 0 else '—')} |")
    w("")
    # ---------------------------------------------------------------------- per chapter
    w("## Chapters: objectives and prerequisites\n")
    for c in chapters:
        w(f"### {c['title']}\n")
        earlier = [s for s in dict.fromkeys(c["links"]) if s in order and order.index(s) < order.index(c["stem"])]
        if not earlier and c in numbered and numbered.index(c) > 0:
            earlier = [numbered[numbered.index(c) - 1]["stem"]]
        pre = ", ".join(f"{{doc}}`chapters/{s}`" for s in earlier) if earlier else "none beyond the course's"
        w(f"{{doc}}`Read the chapter <{c['name']}>`. Prerequisites: {pre}.\n")
        if c["objectives"]:
            w("After it, a student can:\n")
            for o in c["objectives"]:
                w(f"* {o}")
            w("")
        else:
            w("(The chapter does not open with a list of objectives.)\n")
        n_code = sum(e["code"] for e in c["exercises"])
        w(f"Exercises: {len(c['exercises'])}, of which {n_code} code exercise"
          f"{'s' if n_code != 1 else ''} with an automatic check.\n")
    # ----------------------------------------------------------------------- assignments
    w("## Suggested assignments\n")
    w("One chapter a week. The code exercises are the graded core: each has a starter cell whose "
      "automatic check (`gptlib.exercises`) tells the student what is wrong, and the same check "
      "grades the submission. The written exercises suit a discussion section or a short report. "
      "Hand out the student edition (`make student`), which has no solutions.\n")
    w("| Week | Chapter | Code exercises (checked) | Written exercises |")
    w("|---|---|---|---|")
    for k, c in enumerate(numbered, start=1):
        code = ", ".join(f"`{e['label']}` {e['title']}" for e in c["exercises"] if e["code"]) or "—"
        written = ", ".join(f"`{e['label']}`" for e in c["exercises"] if not e["code"]) or "—"
        w(f"| {k} | {{doc}}`{c['name']}` | {code} | {written} |")
    w("")
    # ---------------------------------------------------------------------------- rubric
    w("## Grading rubric\n")
    w("| Part | Weight | Full marks | Partial | None |")
    w("|---|---|---|---|---|")
    w("| Code exercise: correctness | 50% | the check prints *correct* | it runs but the check "
      "names a mistake; the student explains which | raises, or unchanged starter |")
    w("| Code exercise: reading of the result | 15% | the student states what the function "
      "computes, with shapes, and one case it gets right that a typical mistake gets wrong | "
      "shapes only | nothing |")
    w("| Written exercise: the answer | 20% | correct, backed by a computation run in the notebook "
      "and its printed numbers | correct without evidence, or evidence without a conclusion | "
      "wrong or missing |")
    w("| Written exercise: reasoning | 10% | says why, cites the chapter or the paper, names what "
      "would change the result (profile, seed, size) | a claim without a reason | none |")
    w("| Reproducibility | 5% | the notebook runs from top to bottom in a fresh runtime | runs after "
      "small fixes | does not run |")
    w("")
    return "\n".join(L).rstrip() + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--times", type=Path, default=ROOT / "assets" / "chapter_times.json")
    ap.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    ap.add_argument("--out", type=Path, default=ROOT / "course_guide.md")
    args = ap.parse_args(argv)
    times = json.loads(args.times.read_text()) if args.times.exists() else None
    text = render(args.toc, times)
    tmp = args.out.with_name(args.out.name + ".part")
    tmp.write_text(text)
    tmp.replace(args.out)
    print(f"course_guide: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
