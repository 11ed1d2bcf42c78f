#!/usr/bin/env python3
"""Run a chapter notebook's code cells in order, in one namespace, as a plain script.

For machines without Jupyter, nbclient or nbval (the GPU machine): no kernel, no notebook server.

    python tools/run_chapter.py chapters/04_attention.ipynb --out OUT [--profile gpu]

What it does, cell by cell, as a Jupyter kernel would:

* runs every code cell in one ``__main__`` namespace, in the notebook's folder, with
  matplotlib's ``Agg`` backend; cells tagged ``nbval-skip`` or ``skip-execution`` are skipped, and
  an error in a cell tagged ``raises-exception`` is recorded but does not stop the run;
* IPython magics (``%matplotlib inline``, ``!pip ...``) are neutralised: a cell that is not valid
  Python has its magic lines replaced by ``pass``; ``%%time``/``%%capture`` cells run their body,
  ``%%writefile`` writes it, other cell magics are skipped;
* ``display(...)`` (the builtin and ``IPython.display.display``, which is stubbed when IPython is
  not installed) prints a text form of the object, or saves a matplotlib figure as PNG; so do
  ``plt.show()`` and a cell's last expression, and figures left open at the end of a cell;
* every ``gptlib.glue(name, value)`` call is recorded (``gptlib.glue`` and ``gptlib.notebook.glue``
  are patched), and the values go to ``OUT/<chapter>.json`` with each cell's time, status and the
  tail of what it printed; the JSON is rewritten after every cell, so a run killed by ``timeout``
  still leaves its progress (status ``timeout`` on SIGTERM);
* ``OUT/<chapter>.executed.ipynb`` gets the notebook with those outputs (text and figures);
* the JSON also records the training FLOPs (``gptlib.training.training_flops()``: 6·N·tokens of
  every Trainer step) per cell (``train_flops``) and in all, and the machine (CPU model, cores, the
  load average at the start and the end, the date), for ``tools/chapter_times.py``;
* on the first failing cell it prints that cell's index and source and the traceback, writes the
  JSON (``status: error``, ``failed_cell``) and exits with status 1.

Exit status: 0 all cells ran, 1 a cell failed, 2 the notebook could not be read, 143 SIGTERM.
"""
from __future__ import annotations

import argparse
import ast
import base64
import builtins
import io
import json
import linecache
import os
import platform
import re
import signal
import sys
import time
import traceback
import types
from pathlib import Path

SKIP_TAGS = {"nbval-skip", "skip-execution"}
ERROR_TAGS = {"raises-exception"}
TEXT_LIMIT = 4000          # characters of a cell's printed output kept in the JSON
DISPLAY_LIMIT = 3000       # characters printed for one displayed object


class Terminated(BaseException):
    """SIGTERM (e.g. from ``timeout``): stop the current cell and write what we have."""


# ------------------------------------------------------------------------------ source handling
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.\[\], ]+\s*=\s*[%!]")   # files = !ls


def transform_source(src: str) -> tuple[str | None, str]:
    """(python source, note). ``None`` means: do not run this cell (the note says why)."""
    lines = src.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        i = next(k for k, ln in enumerate(lines) if ln.strip())
        body = "\n".join(lines[i + 1:])
        if magic in ("time", "capture", "timeit"):
            src, note = body, f"cell magic %%{magic}: ran its body"
        elif magic == "writefile":
            args = first.split()[1:]
            append = "-a" in args or "--append" in args
            target = [a for a in args if not a.startswith("-")]
            if not target:
                return None, "cell magic %%writefile without a file name: skipped"
            code = (f"with open({target[0]!r}, {'a' if append else 'w'!r}, encoding='utf-8') as _f:\n"
                    f"    _f.write({body + chr(10)!r})\n")
            return code, f"cell magic %%writefile {target[0]}"
        else:
            return None, f"cell magic %%{magic}: skipped"
    else:
        note = ""
    try:
        compile(src, "<cell>", "exec")
        return src, note
    except SyntaxError:
        pass
    out, neutralised = [], 0
    for ln in src.splitlines():
        indent = ln[:len(ln) - len(ln.lstrip())]
        timed = re.match(r"^\s*%(?:time|timeit)\s+(.+)$", ln)
        if timed:                                   # %time stmt: run the statement
            out.append(indent + timed.group(1))
            neutralised += 1
        elif ln.lstrip()[:1] in ("%", "!") or _ASSIGNED_MAGIC.match(ln):
            out.append(f"{indent}pass  # magic skipped: {ln.strip()[:80]}")
            neutralised += 1
        else:
            out.append(ln)
    note = "; ".join(x for x in (note, f"{neutralised} magic line(s) skipped" if neutralised else "") if x)
    return "\n".join(out), note


def cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


# ---------------------------------------------------------------------------------- the runner
class _Tee(io.TextIOBase):
    """Writes to the real stream and keeps a copy of what the current cell printed."""

    def __init__(self, stream):
        self.stream = stream
        self.parts: list[str] = []

    def write(self, s):
        self.parts.append(s)
        try:
            self.stream.write(s)
        except ValueError:
            pass
        return len(s)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False

    def fileno(self):
        return self.stream.fileno()

    @property
    def encoding(self):
        return getattr(self.stream, "encoding", "utf-8")

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


def _jsonable(v):
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else str(v)
    item = getattr(v, "item", None)
    if callable(item):
        try:
            return _jsonable(item())
        except Exception:  # noqa: BLE001 - not a scalar
            pass
    return {"type": type(v).__name__, "repr": repr(v)[:1000]}


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict:
    """CPU model, core count, load average and date of this run (for tools/chapter_times.py)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": usable,
            "threads": os.environ.get("OMP_NUM_THREADS"), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg_start": _loadavg()}


class DisplayHandle:
    def __init__(self, runner, display_id):
        self.runner, self.display_id, self.obj, self.path = runner, display_id, None, None

    def update(self, obj, **kwargs):
        self.obj = obj
        if self not in self.runner.pending:
            self.runner.pending.append(self)

    def display(self, obj, **kwargs):
        self.runner.display(obj)
        self.update(obj)


class ChapterRunner:
    def __init__(self, notebook: Path, out: Path, json_path: Path | None = None, figures: bool = True,
                 dpi: int = 60, executed: bool = True, echo: bool = True):
        self.notebook = notebook
        self.out = out
        self.stem = notebook.stem
        self.json_path = json_path or out / f"{self.stem}.json"
        self.fig_dir = out / self.stem
        self.figures, self.dpi, self.executed, self.echo = figures, dpi, executed, echo
        self.glue_calls: list[dict] = []
        self.cells: list[dict] = []
        self.outputs: dict[int, list] = {}
        self.pending: list[DisplayHandle] = []
        self.current = None          # index of the cell running now
        self.fig_count = 0
        self.saved: list[str] = []
        self._fig_outputs: dict[str, dict] = {}
        self._shown: set[int] = set()    # figures already saved in this cell (display, a handle)
        self.result: dict = {}
        self._original_glue = None

    # ------------------------------------------------------------------ display and figures
    def _outputs(self):
        return self.outputs.setdefault(self.current, [])

    def save_figure(self, fig, path: Path | None = None) -> Path | None:
        if not self.figures:
            return None
        if path is None:
            self.fig_count += 1
            path = self.fig_dir / f"cell{self.current:02d}_{self.fig_count}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._shown.add(id(fig))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi)
        path.write_bytes(buf.getvalue())
        rel = str(path.relative_to(self.out)) if path.is_relative_to(self.out) else str(path)
        data = {"image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": [f"<figure {rel}>"]}
        if rel in self._fig_outputs:                 # a display handle's update: same file, same output
            self._fig_outputs[rel]["data"] = data
        else:
            self.saved.append(rel)
            self._fig_outputs[rel] = {"output_type": "display_data", "metadata": {}, "data": data}
            self._outputs().append(self._fig_outputs[rel])
        return path

    @staticmethod
    def _is_figure(obj) -> bool:
        return type(obj).__name__ in ("Figure", "SubFigure") and hasattr(obj, "savefig")

    def text_of(self, obj) -> str:
        data = getattr(obj, "data", None)
        if isinstance(data, str) and type(obj).__module__.startswith("IPython"):
            text = data
        else:
            try:
                text = repr(obj)
            except Exception as e:  # noqa: BLE001
                text = f"<{type(obj).__name__}: repr failed: {e}>"
        return text if len(text) <= DISPLAY_LIMIT else text[:DISPLAY_LIMIT] + " ...[cut]"

    def display(self, *objs, display_id=None, **kwargs):
        for obj in objs:
            if obj is None:
                continue
            if self._is_figure(obj):
                self.save_figure(obj)
            else:
                print(self.text_of(obj))
        if display_id:
            handle = DisplayHandle(self, display_id)
            handle.obj = objs[-1] if objs else None
            if handle.obj is not None and self._is_figure(handle.obj) and self.figures:
                handle.path = self.fig_dir / f"cell{self.current:02d}_{self.fig_count}.png"
            return handle
        return None

    def flush_figures(self):
        """At ``plt.show()`` and at the end of each cell: save open figures, then close them."""
        for h in self.pending:
            if self._is_figure(h.obj):
                self.save_figure(h.obj, h.path)
        self.pending = []
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return
        for num in plt.get_fignums():
            fig = plt.figure(num)
            if id(fig) not in self._shown:
                self.save_figure(fig)
        plt.close("all")
        self._shown = set()

    # --------------------------------------------------------------------------- patching
    def install_stubs(self):
        os.environ["MPLBACKEND"] = "Agg"
        try:
            import matplotlib
            matplotlib.use("Agg", force=True)
            import matplotlib.pyplot as plt
            plt.show = lambda *a, **k: self.flush_figures()
        except ImportError:
            pass
        display = self.display
        try:
            import IPython.display as ipd
            ipd.display = display
            ipd.clear_output = lambda *a, **k: None
            try:
                import IPython.core.display_functions as idf
                idf.display = display
            except ImportError:
                pass
        except ImportError:                       # no IPython here: a stub that does the same
            ip = types.ModuleType("IPython")
            ip.get_ipython = lambda: None
            ipd = types.ModuleType("IPython.display")

            class _Shown:
                def __init__(self, data=None, url=None, filename=None, **kwargs):
                    self.data = data if data is not None else (url or filename)

                def __repr__(self):
                    return str(self.data)
            for name in ("Markdown", "HTML", "Latex", "Math", "SVG", "JSON", "Javascript", "Image", "Code",
                         "Pretty", "IFrame", "Audio", "Video", "FileLink"):
                setattr(ipd, name, type(name, (_Shown,), {"__module__": "IPython.display"}))
            ipd.display = display
            ipd.clear_output = lambda *a, **k: None
            ipd.update_display = lambda *a, **k: None
            ipd.DisplayHandle = DisplayHandle
            ip.display = ipd
            sys.modules["IPython"], sys.modules["IPython.display"] = ip, ipd
        try:
            import gptlib  # noqa: F401 - so that glue is patched before the first cell runs
        except Exception as e:  # noqa: BLE001 - the chapter's own import will report it
            print(f"run_chapter: gptlib did not import ({type(e).__name__}: {e})", file=sys.stderr)
        self.patch_glue()

    def recording_glue(self, name, value, display=False, *args, **kwargs):
        self.glue_calls.append({"name": str(name), "value": _jsonable(value), "cell": self.current})
        return value

    def patch_glue(self):
        """Point every loaded ``gptlib`` module's ``glue`` at the recorder (again after each cell,
        for modules imported since)."""
        nb = sys.modules.get("gptlib.notebook")
        if nb is None:
            return
        if self._original_glue is None:
            self._original_glue = getattr(nb, "glue", None)
        for name, mod in list(sys.modules.items()):
            if (name == "gptlib" or name.startswith("gptlib.")) and mod is not None:
                g = getattr(mod, "glue", None)
                if g is not None and g is not self.recording_glue and (
                        g is self._original_glue or getattr(g, "__module__", "") == "gptlib.notebook"):
                    mod.glue = self.recording_glue

    # ------------------------------------------------------------------------------ output
    @staticmethod
    def _train_flops() -> float | None:
        tr = sys.modules.get("gptlib.training")
        tally = getattr(tr, "training_flops", None)
        return float(tally()["flops"]) if callable(tally) else None

    def write_json(self, status: str, failed=None):
        glue = {c["name"]: c["value"] for c in self.glue_calls}
        flops = self._train_flops()
        if flops is not None and self._flops0 is not None:
            flops -= self._flops0
        rt = self.namespace.get("rt") if hasattr(self, "namespace") else None
        torch = sys.modules.get("torch")
        self.result = {
            "notebook": str(self.notebook), "status": status,
            "profile": getattr(rt, "profile", None) or os.environ.get("GPTLIB_PROFILE"),
            "runtime": rt.summary() if hasattr(rt, "summary") else None,
            "python": platform.python_version(), "torch": getattr(torch, "__version__", None),
            "seconds": round(time.perf_counter() - self.t0, 3),
            "cells_total": sum(1 for c in self.nb["cells"] if c.get("cell_type") == "code"),
            "cells_run": sum(1 for c in self.cells if c["status"] in ("ok", "error-expected")),
            "cells": self.cells, "glue": glue,
            "glue_cells": {c["name"]: c["cell"] for c in self.glue_calls},
            "figures": self.saved, "failed_cell": failed,
            "train_flops": flops, "machine": {**self.machine, "loadavg_end": _loadavg()},
        }
        self.json_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.json_path.with_name(self.json_path.name + ".part")
        tmp.write_text(json.dumps(self.result, indent=1, default=str))
        os.replace(tmp, self.json_path)

    def write_executed(self):
        if not self.executed:
            return
        nb = json.loads(json.dumps(self.nb))
        for i, cell in enumerate(nb["cells"]):
            if cell.get("cell_type") == "code":
                cell["outputs"] = self.outputs.get(i, [])
                cell["execution_count"] = None
        path = self.out / f"{self.stem}.executed.ipynb"
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(nb, indent=1))
        os.replace(tmp, path)

    # ------------------------------------------------------------------------------- main
    def run(self) -> int:
        self.t0 = time.perf_counter()
        self.machine = machine_info()
        self._flops0 = None
        try:
            self.nb = json.loads(self.notebook.read_text(encoding="utf-8"))
            cells = self.nb["cells"]
        except (OSError, ValueError, KeyError) as e:
            print(f"run_chapter: cannot read {self.notebook}: {e}", file=sys.stderr)
            return 2
        self.out.mkdir(parents=True, exist_ok=True)
        self.install_stubs()
        self._flops0 = self._train_flops()
        main = types.ModuleType("__main__")
        main.__dict__.update(__builtins__=builtins, display=self.display, get_ipython=lambda: None)
        self.namespace = main.__dict__
        saved_main, saved_cwd, saved_path0 = sys.modules.get("__main__"), os.getcwd(), sys.path[0]
        sys.modules["__main__"] = main
        os.chdir(self.notebook.parent)
        sys.path[0] = str(self.notebook.parent)
        out, err = _Tee(sys.stdout), _Tee(sys.stderr)
        sys.stdout, sys.stderr = out, err
        old_term = signal.signal(signal.SIGTERM, self._on_term)
        status, failed, code_no = "ok", None, 0
        try:
            for index, cell in enumerate(cells):
                if cell.get("cell_type") != "code":
                    continue
                code_no += 1
                self.current = index
                tags = set(cell.get("metadata", {}).get("tags", []))
                src = cell_source(cell)
                rec = {"index": index, "code_cell": code_no, "seconds": 0.0, "status": "ok"}
                self.cells.append(rec)
                if tags & SKIP_TAGS:
                    rec.update(status="skipped", note=f"tag {sorted(tags & SKIP_TAGS)[0]}")
                    continue
                code, note = transform_source(src)
                if note:
                    rec["note"] = note
                if code is None:
                    rec["status"] = "skipped"
                    continue
                n_glue = len(self.glue_calls)
                flops_before = self._train_flops()
                t0 = time.perf_counter()
                try:
                    self.exec_cell(code, index)
                    self.flush_figures()
                    self._sync()
                except Terminated:
                    rec.update(seconds=round(time.perf_counter() - t0, 3), status="timeout")
                    status = "timeout"
                    failed = self._failure(index, code_no, src, None)
                    break
                except BaseException as e:  # noqa: BLE001 - any error in a cell stops the run
                    rec["seconds"] = round(time.perf_counter() - t0, 3)
                    tb = self._traceback(e)
                    self._outputs().append({"output_type": "error", "ename": type(e).__name__,
                                            "evalue": str(e), "traceback": tb.splitlines()})
                    if tags & ERROR_TAGS:
                        rec["status"] = "error-expected"
                        rec["error"] = f"{type(e).__name__}: {e}"[:500]
                    else:
                        rec["status"] = "error"
                        status = "error"
                        failed = self._failure(index, code_no, src, e, tb)
                        sys.stderr = err.stream
                        self._report(failed)
                        break
                else:
                    rec["seconds"] = round(time.perf_counter() - t0, 3)
                finally:
                    self.patch_glue()
                    rec["glued"] = [c["name"] for c in self.glue_calls[n_glue:]]
                    flops_after = self._train_flops()
                    if flops_after is not None:
                        rec["train_flops"] = flops_after - (flops_before or 0.0)
                    self._collect(out, err, rec)
                    self.write_json("running" if status == "ok" else status, failed)
        finally:
            signal.signal(signal.SIGTERM, old_term)
            sys.stdout, sys.stderr = out.stream, err.stream
            os.chdir(saved_cwd)
            sys.path[0] = saved_path0
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
        self.write_json(status, failed)
        self.write_executed()
        done = self.result["cells_run"]
        print(f"run_chapter: {self.notebook.name}: {status}, {done}/{self.result['cells_total']} code cells, "
              f"{len(self.result['glue'])} glued values, {self.result['seconds']:.1f} s -> {self.json_path}")
        return {"ok": 0, "error": 1, "timeout": 143}[status]

    def exec_cell(self, code: str, index: int):
        filename = f"<cell {index}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        tree = ast.parse(code, filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), self.namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval"), self.namespace)
            if value is not None:
                self.namespace["_"] = value
                if self._is_figure(value):
                    self.save_figure(value)
                else:
                    text = self.text_of(value)
                    print(text)

    def _collect(self, out: _Tee, err: _Tee, rec: dict):
        for name, tee in (("stdout", out), ("stderr", err)):
            text = tee.take()
            if text:
                rec[f"{name}_tail"] = text[-TEXT_LIMIT:]
                self._outputs().insert(0 if name == "stdout" else len(self._outputs()),
                                       {"output_type": "stream", "name": name, "text": text[-20 * TEXT_LIMIT:]})

    @staticmethod
    def _sync():
        torch = sys.modules.get("torch")
        try:
            if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
                torch.cuda.synchronize()
        except Exception:  # noqa: BLE001 - timing help only
            pass

    @staticmethod
    def _traceback(e: BaseException) -> str:
        frames = traceback.extract_tb(e.__traceback__)
        skip = next((k for k, f in enumerate(frames) if f.filename.startswith("<cell ")), 0)
        tb = e.__traceback__
        for _ in range(skip):
            tb = tb.tb_next
        return "".join(traceback.format_exception(type(e), e, tb))

    @staticmethod
    def _failure(index, code_no, src, e, tb=None) -> dict:
        return {"index": index, "code_cell": code_no, "source": src,
                "error": f"{type(e).__name__}: {e}"[:2000] if e is not None else "terminated (SIGTERM/timeout)",
                "traceback": tb}

    def _report(self, failed: dict):
        bar = "-" * 72
        print(f"\n{bar}\nrun_chapter: {self.notebook} failed at cell {failed['index']} "
              f"(code cell {failed['code_cell']}): {failed['error'].splitlines()[0] if failed['error'] else ''}\n"
              f"{bar}\nsource of cell {failed['index']}:\n{failed['source']}\n{bar}\n{failed['traceback']}{bar}",
              file=sys.stderr, flush=True)

    def _on_term(self, signum, frame):
        raise Terminated()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default: $OUT, else ./gpu_check_out)")
    ap.add_argument("--json", type=Path, default=None, help="the JSON file (default: OUT/<chapter>.json)")
    ap.add_argument("--profile", choices=["gpu", "cpu", "smoke"], default=None,
                    help="sets GPTLIB_PROFILE for the run (default: as the environment says)")
    ap.add_argument("--no-figures", action="store_true", help="do not save figures")
    ap.add_argument("--no-executed", action="store_true", help="do not write the executed notebook")
    ap.add_argument("--dpi", type=int, default=60)
    args = ap.parse_args(argv)
    if args.profile:
        os.environ["GPTLIB_PROFILE"] = args.profile
    out = (args.out or Path(os.environ.get("OUT") or "gpu_check_out")).resolve()
    runner = ChapterRunner(args.notebook.resolve(), out, args.json.resolve() if args.json else None,
                           figures=not args.no_figures, dpi=args.dpi, executed=not args.no_executed)
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
