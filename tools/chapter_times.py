#!/usr/bin/env python3
"""Collect the measured run time of every chapter into ``assets/chapter_times.json``.

    python tools/chapter_times.py [--runs /work/cpu_runs] [--out assets/chapter_times.json]

Input: the JSON files that ``tools/run_chapter.py --out RUNS`` writes, one per chapter
(``RUNS/<chapter>.json``: each cell's time, the training FLOPs each cell did, the runtime, the
machine). Output, for every chapter of ``_toc.yml`` that has a run:

* ``cpu_seconds``: the measured wall time of the run (the profile it ran in is recorded);
* ``train_flops``: 6·N·tokens summed over every training step the run did (``gptlib.training``);
* ``t4_seconds_estimate``: an ESTIMATE of the same work on a Colab T4: each cell that trained takes
  its FLOPs / (65 TFLOP/s fp16 tensor peak × the stated utilisation); every other cell keeps its
  measured CPU time (an upper bound: a GPU would not make it slower). On a GPU the book runs the
  ``gpu`` profile, which trains larger models, so this is not the time of a GPU-profile run;
* the machine (CPU model, cores, torch version, date, load average at the start and the end).

The course guide (``tools/course_guide.py``) reads this file. A chapter without a run, or whose
run did not finish, is listed with its status and no time.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
T4_PEAK_FLOPS = 65e12         # NVIDIA T4 datasheet: 65 TFLOP/s fp16 with tensor cores
UTILISATION = 0.25            # the assumption chapter 8 makes for a small model


def toc_chapters(toc: Path) -> list[str]:
    data = yaml.safe_load(toc.read_text())
    return [c["file"] for part in data.get("parts", []) for c in part.get("chapters", [])
            if c["file"].startswith("chapters/")]


def t4_estimate(run: dict, peak: float, utilisation: float) -> float | None:
    """Seconds for the run's work on a T4: training cells by FLOPs, the others as measured."""
    if run.get("train_flops") is None:
        return None                      # a run_chapter.py without the FLOPs tally
    total = 0.0
    for cell in run.get("cells", []):
        flops = cell.get("train_flops") or 0.0
        total += flops / (peak * utilisation) if flops > 0 else float(cell.get("seconds") or 0.0)
    return total


def _this_machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.lower().startswith("model name"))
    except (OSError, StopIteration):
        pass
    import os
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def summary_loads(runs: Path) -> dict:
    """Load averages from RUNS/summary.txt lines ``NAME rc=.. wall=..s load_start=X load_end=Y``
    (the lead's run script writes them), for runs whose JSON has none."""
    loads = {}
    path = runs / "summary.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            m = re.match(r"(\S+) .*load_start=([\d.]+) load_end=([\d.]+)", line)
            if m:
                loads[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    return loads


def collect(runs: Path | list[Path], toc: Path, peak: float = T4_PEAK_FLOPS,
            utilisation: float = UTILISATION) -> dict:
    """``runs``: one folder or several; for a chapter run in more than one, the last folder wins."""
    folders = [runs] if isinstance(runs, Path) else list(runs)
    chapters, machines = {}, []
    for name in toc_chapters(toc):
        stem = Path(name).name
        found = [f for f in folders if (f / f"{stem}.json").exists()]
        if not found:
            chapters[stem] = {"status": "not run"}
            continue
        run = json.loads((found[-1] / f"{stem}.json").read_text())
        machine = dict(run.get("machine") or {})
        load = summary_loads(found[-1]).get(stem)
        if load and not machine.get("loadavg_start"):
            machine["loadavg_start"], machine["loadavg_end"] = [load[0]], [load[1]]
        entry = {
            "status": run.get("status"), "profile": run.get("profile"),
            "cpu_seconds": run.get("seconds") if run.get("status") == "ok" else None,
            "train_flops": run.get("train_flops"),
            "train_seconds_cpu": round(sum(c.get("seconds") or 0.0 for c in run.get("cells", [])
                                           if (c.get("train_flops") or 0) > 0), 3),
            "cells": run.get("cells_total"), "torch": run.get("torch"),
            "date": machine.get("date") or time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime((found[-1] / f"{stem}.json").stat().st_mtime)), "loadavg_start": machine.get("loadavg_start"),
            "loadavg_end": machine.get("loadavg_end"),
        }
        est = t4_estimate(run, peak, utilisation) if run.get("status") == "ok" else None
        entry["t4_seconds_estimate"] = None if est is None else round(est, 1)
        chapters[stem] = entry
        if machine.get("cpu"):
            machines.append({**{k: machine.get(k) for k in ("cpu", "cores", "usable_cores",
                                                              "threads", "platform")},
                             "torch": run.get("torch"), "python": run.get("python")})
    distinct = [m for i, m in enumerate(machines) if m not in machines[:i]]
    if not distinct:         # runs from a run_chapter.py that did not record the machine
        distinct = [{**_this_machine(), "torch": next((c.get("torch") for c in chapters.values()
                                                       if c.get("torch")), None),
                     "note": "described when collected (the runs did not record it)"}]
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": [str(f) for f in folders],
        "machine": distinct[0] if len(distinct) == 1 else distinct,
        "t4": {"peak_flops": peak, "utilisation": utilisation,
               "method": "training cells: train_flops / (peak x utilisation); other cells: "
                         "their measured CPU time (an upper bound). An estimate of the same work "
                         "as the CPU run, not a measurement; the gpu profile trains larger "
                         "models."},
        "chapters": chapters,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, action="append", default=None,
                    help="a run_chapter.py output folder (repeat for several; default "
                         "/work/cpu_runs)")
    ap.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "chapter_times.json")
    ap.add_argument("--utilisation", type=float, default=UTILISATION)
    ap.add_argument("--peak", type=float, default=T4_PEAK_FLOPS)
    args = ap.parse_args(argv)
    args.runs = args.runs or [Path("/work/cpu_runs")]
    missing = [r for r in args.runs if not r.is_dir()]
    if missing:
        print(f"chapter_times: no folder {missing[0]}", file=sys.stderr)
        return 2
    result = collect(args.runs, args.toc, args.peak, args.utilisation)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".part")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(args.out)
    done = sum(1 for c in result["chapters"].values() if c.get("cpu_seconds") is not None)
    print(f"chapter_times: {done}/{len(result['chapters'])} chapters measured -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
