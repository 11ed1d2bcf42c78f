"""Every chapter's first cell, generated from one template and the repository URL in _config.yml.

    python tools/setup_cell.py sync              rewrite the first cell of every chapter
    python tools/setup_cell.py check             exit 1 if any chapter's first cell is out of date
    python tools/setup_cell.py new PATH "Title"  create a chapter notebook skeleton

The cell installs gptlib from the book's repository when it is missing (a fresh Colab runtime),
never touches an installed torch, and prints the runtime summary.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = '''\
# Setup: installs gptlib (and what it needs) where it is missing, e.g. in a fresh Colab runtime.
# It never reinstalls an existing torch. Then it prints where this notebook runs.
import importlib.util, subprocess, sys
if importlib.util.find_spec("gptlib") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "gptlib @ git+{repo}"], check=True)
import gptlib
rt = gptlib.get_runtime()
print(rt.summary())'''

SETUP_TAG = "setup"


def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    m = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.M)
    if not m:
        raise SystemExit("_config.yml has no repository.url")
    return m.group(1)


def setup_source() -> str:
    return TEMPLATE.format(repo=repository_url())


def chapters() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def is_current(nb) -> bool:
    return bool(nb.cells) and nb.cells[0].cell_type == "code" and nb.cells[0].source == setup_source()


def sync(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    if is_current(nb):
        return False
    cell = nbformat.v4.new_code_cell(setup_source(), metadata={"tags": [SETUP_TAG]})
    if nb.cells and nb.cells[0].cell_type == "code" and SETUP_TAG in nb.cells[0].metadata.get("tags", []):
        nb.cells[0] = cell
    else:
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)
    return True


def new(path: Path, title: str) -> None:
    if path.exists():
        raise SystemExit(f"{path} exists")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(setup_source(), metadata={"tags": [SETUP_TAG]}),
        nbformat.v4.new_markdown_cell(f"# {title}\n\nBy the end of this chapter you will be able to …"),
    ]
    nbformat.write(nb, path)


def main(argv):
    if not argv or argv[0] not in ("sync", "check", "new"):
        raise SystemExit(__doc__)
    if argv[0] == "new":
        new(Path(argv[1]), argv[2])
        return
    stale = [p for p in chapters() if not is_current(nbformat.read(p, as_version=4))]
    if argv[0] == "check":
        for p in stale:
            print(f"{p.relative_to(ROOT)}: first cell is not the current setup cell; run "
                  "`python tools/setup_cell.py sync`")
        raise SystemExit(1 if stale else 0)
    for p in stale:
        sync(p)
        print(f"updated {p.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
