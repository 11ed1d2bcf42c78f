"""Training throughput benchmark: ``python -m gptlib.bench --preset nanogpt-cpu --iters 2000``.

Trains a named preset with the book's own :class:`~gptlib.training.Trainer` and prints, as its
last line, one JSON object with ``tokens_per_s``, ``mfu`` (model FLOPs utilisation against this
machine's *measured* matmul peak at the precision used, also printed) and ``val_loss``. The same
JSON comes out on a CPU and on CUDA.

Presets
-------
``nanogpt-cpu``  nanoGPT's shakespeare-char CPU recipe, identical model and optimiser: char-level
                 tinyshakespeare split 90/10; 4 layers, 4 heads, 128 dims, context 64, batch 12,
                 no dropout, no bias, tied embeddings, exact GELU; AdamW lr 1e-3, betas (0.9, 0.99), weight
                 decay 0.1 on 2-D weights, 100 warmup steps, cosine to 1e-4 at the last step,
                 gradient clipping at 1.0; evaluation every 250 steps on 20 batches per split.
                 What differs is the loop: bf16 autocast where the CPU has bf16 instructions
                 (``--precision fp32`` for nanoGPT's fp32), fused AdamW, no per-step host sync.
``fast-cpu``     the same model, trained for *time to quality* on a CPU: Muon (``torch.optim.Muon``)
                 on the blocks' matrices and AdamW on the embeddings and norms, batch 32, a higher
                 learning rate, a 260-step schedule and bf16 where the CPU has bf16 units. Use it
                 with ``--target-val-loss 1.886`` to stop at the first evaluation that reaches it.
``shakespeare-gpu`` (alias ``gpu``) nanoGPT's shakespeare-char GPU recipe (6 layers, 6 heads,
                 384 dims, context 256, batch 64, dropout 0.2, 5000 steps) with fused attention,
                 bf16 (fp16 + GradScaler on a T4), fused AdamW and ``torch.compile``.

Levers (flags): ``--precision``, ``--compile/--no-compile``, ``--fused/--no-fused`` (fused AdamW vs
the foreach version), ``--threads``, ``--set key=value`` for any TrainConfig field.

``--reference-loop`` trains the same preset with a loop written to behave like nanoGPT's
``train.py`` on a CPU (our own code): fp32, torch's default AdamW (a Python loop over the
parameters on CPU), batches cut from a re-opened ``np.memmap`` with ``torch.stack``, ``loss.item()``
every step and an evaluation at step 0. Comparing the two on the same machine gives the speedup
without trusting numbers measured elsewhere.

Side by side with nanoGPT itself: ``--vs-nanogpt DIR`` (a karpathy/nanoGPT work tree; ``make bench
NANOGPT=DIR``) runs its ``train.py`` (the invocation of ``../shared/bench/nanogpt_cpu_baseline.sh``)
and this bench alternately, nanoGPT first, ``--rounds`` times each (default 2), each in a fresh
process, and prints every run, the median ratio and a JSON line. ``--vs-mode throughput``: both at
the identical preset, 300 steps, fp32, tokens/s = tokens per step / median step time (steps ≥ 5,
evaluation steps left out) on both sides. ``--vs-mode quality``: nanoGPT's README recipe (2,000
steps, evaluation every 250; its whole wall time) against ``--preset fast-cpu --target-val-loss
1.886`` (seconds from process start to the target). ``--threads N`` and flags after ``--`` go to the
gptlib runs only; nanoGPT runs as its recipe does. Nothing else in gptlib needs the work tree.

Throughput counts training steps only (evaluations excluded, as in both loops); the first steps,
where ``torch.compile`` compiles, are included in ``tokens_per_s`` and reported separately as
``warmup_seconds``; ``steady_tokens_per_s`` leaves them out.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from . import recipes
from .model import GPT, GPTConfig
from .recipes import NANOGPT_MODEL  # noqa: F401  (bench.NANOGPT_MODEL, as the pretraining chapter reads it)
from .runtime import get_runtime
from .training import TrainConfig, Trainer, lr_at
from .zoo import corpus

_IMPORTED_AT = time.perf_counter()

# The presets are recipes of the one registry, gptlib.recipes (the zoo reads it too).
PRESETS = ("nanogpt-cpu", "fast-cpu", "shakespeare-gpu", "gpu")

WARMUP_STEPS = 10   # steps timed apart: compilation and first-touch allocations happen here


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds_since_process_start() -> float:
    """How long this Python process has been running, so that "time to quality" counts interpreter
    and torch start-up too. Linux: from /proc (clock since boot, immune to wall-clock changes);
    elsewhere: since this module was imported."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED_AT


def process_cpu_seconds() -> float:
    """CPU time this process has used so far (all threads, user + system). On a busy machine, where
    wall-clock times stretch, this shows how much work a run really took."""
    try:
        import resource
        u = resource.getrusage(resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime
    except (ImportError, OSError):
        return time.process_time()


def measure_matmul_peak(device: torch.device, dtype: torch.dtype, seconds: float = 1.0,
                        sizes: tuple[int, ...] | None = None) -> float:
    """Measured FLOP/s of large square matmuls at ``dtype`` on ``device``: the best over a few sizes
    and repeats (a *measured* peak, which is below the datasheet's)."""
    sizes = sizes or ((4096, 8192) if device.type == "cuda" else (512, 1024, 2048))
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(2):
            a @ b
        _sync(device)
        flop = 2 * n ** 3
        deadline = time.perf_counter() + seconds / len(sizes)
        while True:
            reps = max(1, int(2e9 / flop)) if device.type == "cpu" else 20
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            _sync(device)
            best = max(best, flop * reps / (time.perf_counter() - t0))
            if time.perf_counter() > deadline:
                break
    return best


def mfu(tokens_per_s: float, flops_per_token: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: the FLOP/s the model's arithmetic needs at this throughput, as a
    fraction of the peak: (tokens/s × FLOPs/token) / peak FLOP/s."""
    return tokens_per_s * flops_per_token / peak_flops


def parse_overrides(items) -> dict:
    """``["batch_size=32", "lr=3e-3"]`` → ``{"batch_size": 32, "lr": 0.003}`` (TrainConfig fields)."""
    names = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    out = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in names:
            raise SystemExit(f"--set expects key=value with a TrainConfig field; got {item!r} "
                             f"(fields: {', '.join(names)})")
        default = getattr(TrainConfig(), key)
        if isinstance(default, str):
            value = raw.strip()
        elif isinstance(default, bool) or default is None:
            value = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(default, int):
            value = int(float(raw))
        else:
            value = float(raw)
        out[key] = value
    return out


def run(preset: str, iters: int | None = None, precision: str | None = None, compile: bool | None = None,
        fused: bool | None = None, target_val_loss: float | None = None, eval_interval: int | None = None,
        progress: bool = False, log=print, *, threads: int | None = None, overrides: dict | None = None,
        reference_loop: bool = False, confirm_iters: int = 100, measure_peak: bool = True) -> dict:
    """Train ``preset`` and return the benchmark's JSON-able result (see the module docstring)."""
    if preset not in PRESETS:
        raise SystemExit(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if threads:
        torch.set_num_threads(threads)
    model_kw, train_kw, recipe_precision = recipes.spec(preset, "any")
    recipe = recipes.get_recipe(preset)
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    spec = precision if precision is not None else recipe_precision
    if reference_loop:   # nanoGPT's CPU recipe: fp32 on the CPU
        device, spec = torch.device("cpu"), "fp32"
    rt = get_runtime(profile="gpu" if device.type == "cuda" else "cpu", device=device,
                     precision=recipes.training_precision(spec, device))
    tcfg = TrainConfig(**{**train_kw, **(overrides or {})}, progress=progress, log_interval=50)
    if iters is not None:
        tcfg.max_steps = iters
    if compile is not None:
        tcfg.compile = compile
    if fused is not None:
        tcfg.fused_adamw = fused
    if eval_interval is not None:
        tcfg.eval_interval = eval_interval
    if device.type != "cuda" and compile is None and preset in ("shakespeare-gpu", "gpu"):
        tcfg.compile = False   # the GPU preset on a CPU: skip a long compile unless asked for
    tok, train_ids, val_ids = corpus(recipe["data"], recipe["tokenizer"])
    mcfg = GPTConfig(vocab_size=tok.vocab_size, **model_kw)
    log(f"preset={preset} device={rt.device.type} precision={rt.precision} threads={torch.get_num_threads()} "
        f"loop={'reference (nanoGPT-style)' if reference_loop else 'gptlib.Trainer'}")

    t_anchor, since_start = time.perf_counter(), seconds_since_process_start()

    def elapsed() -> float:   # seconds since the process started
        return since_start + time.perf_counter() - t_anchor
    reached: dict = {}
    if reference_loop:
        out = _reference_loop(mcfg, tcfg, train_ids, val_ids, log)
        model, step, compiled, fused_used = out["model"], out["step"], False, False
        hist_val, train_s, warm_s, tokens = out["val_loss"], out["train_seconds"], out["warmup_seconds"], out["tokens"]
        evaluate_val = out["evaluate_val"]
        optimizer_name = "AdamW (torch default for CPU tensors: per-parameter loop)"
        step_ms = out["step_ms"]
    else:
        torch.manual_seed(tcfg.seed)
        model = GPT(mcfg)

        def on_eval(trainer, step, train_loss, val_loss):
            log(f"step {step}: train {train_loss:.4f} val {val_loss:.4f} "
                f"({elapsed():.1f} s since the process started)")

        check_every = tcfg.eval_interval
        if target_val_loss is not None:
            # Time to quality: only the validation loss decides when to stop, so evaluate just that
            # split every ``eval_interval`` steps (the same fixed batches Trainer.evaluate uses).
            tcfg.eval_interval = 0
        trainer = Trainer(model, tcfg, rt, train_data=train_ids, val_data=val_ids, on_eval=on_eval)
        warm = min(WARMUP_STEPS, tcfg.max_steps)
        step_ms: list[float] = []
        if target_val_loss is None:
            trainer.fit(steps=warm)
            warm_s = trainer.history.train_seconds
            # One step per call so that each step is timed, as nanoGPT logs every iteration's time;
            # a step that ran an evaluation is left out of the median (nanoGPT's dt includes it).
            while trainer.step < tcfg.max_steps:
                t = time.perf_counter()
                trainer.fit(steps=1)
                _sync(device)
                if not (tcfg.eval_interval and trainer.step % tcfg.eval_interval == 0) \
                        and trainer.step != tcfg.max_steps:
                    step_ms.append(1000 * (time.perf_counter() - t))
            hist = trainer.history
        else:
            warm_s = 0.0
            while trainer.step < tcfg.max_steps:
                nxt = (trainer.step // check_every + 1) * check_every
                if trainer.step < warm:
                    nxt = min(nxt, warm)
                trainer.fit(steps=nxt - trainer.step)
                if trainer.step == warm:
                    warm_s = trainer.history.train_seconds
                if trainer.step % check_every and trainer.step < tcfg.max_steps:
                    continue
                val = validation_loss(trainer, tcfg.eval_iters)
                log(f"step {trainer.step}: val {val:.4f} ({elapsed():.1f} s since the process started)")
                if val <= target_val_loss:
                    reached.update(step=trainer.step, seconds=elapsed(), cpu_seconds=process_cpu_seconds(),
                                   val=val)
                    break
            hist = trainer.history
            if reached:
                hist.eval_val.append(reached["val"])
        step, compiled = trainer.step, trainer.compiled
        fused_used = bool(trainer.optimizer.defaults.get("fused"))
        optimizer_name = "AdamW (fused)" if fused_used else "AdamW (foreach)"
        if tcfg.optimizer == "muon":
            optimizer_name = f"Muon (hidden matrices) + {optimizer_name}"
        hist_val, train_s, tokens = hist.final_val, hist.train_seconds, hist.tokens_seen

        def evaluate_val(n):
            return validation_loss(trainer, n)

    tokens_per_step = tcfg.batch_size * tcfg.grad_accum * mcfg.block_size
    tps = tokens / train_s
    steady = (tokens - min(WARMUP_STEPS, step) * tokens_per_step) / max(train_s - warm_s, 1e-9)
    fpt = model.flops_per_token(training=True)
    result = {
        "preset": preset, "loop": "reference" if reference_loop else "trainer",
        "device": rt.device.type,
        "device_name": torch.cuda.get_device_name() if rt.device.type == "cuda" else _cpu_name(),
        "precision": rt.precision, "compile": compiled, "fused_adamw": fused_used, "optimizer": optimizer_name,
        "threads": torch.get_num_threads(), "iters": step, "batch_size": tcfg.batch_size,
        "block_size": mcfg.block_size, "lr": tcfg.lr, "params": model.num_params(),
        "flops_per_token": fpt, "tokens": tokens,
        "tokens_per_s": round(tps, 1), "steady_tokens_per_s": round(steady, 1),
        "train_seconds": round(train_s, 2), "warmup_seconds": round(warm_s, 2),
        "val_loss": round(hist_val, 4),
    }
    if step_ms:   # nanoGPT's definition: tokens per step / median step time
        med = float(np.median(step_ms))
        result["median_step_ms"] = round(med, 2)
        result["median_tokens_per_s"] = round(tokens_per_step * 1000 / med, 1)
    if target_val_loss is not None:
        result["target_val_loss"] = target_val_loss
        result["seconds_to_target"] = round(reached["seconds"], 2) if reached else None
        result["steps_to_target"] = reached.get("step")
        result["cpu_seconds_to_target"] = round(reached["cpu_seconds"], 2) if reached else None
        result["wall_seconds_total"] = round(elapsed(), 2)
        if confirm_iters:   # a larger validation sample, outside the timed run, to check the claim
            result["val_loss_confirm"] = round(evaluate_val(confirm_iters), 4)
            result["confirm_iters"] = confirm_iters
    if measure_peak:  # measured after training so that it does not count in time to quality
        peak = measure_matmul_peak(rt.device, rt.dtype)
        log(f"measured {rt.precision} matmul peak: {peak / 1e9:.1f} GFLOP/s")
        result.update(peak_flops=round(peak, 1), mfu=round(mfu(tps, fpt, peak), 4),
                      steady_mfu=round(mfu(steady, fpt, peak), 4))
    result["wall_seconds"] = round(elapsed(), 2)
    result["cpu_seconds"] = round(process_cpu_seconds(), 2)
    result["load_average"] = _load_average()
    return result


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def _load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def validation_loss(trainer: Trainer, iters: int) -> float:
    """The Trainer's own validation loss (:meth:`~gptlib.training.Trainer.evaluate`, same fixed batches)."""
    return trainer.evaluate("val", iters=iters)["loss"]


# --------------------------------------------------------------------------- the reference loop
def _reference_loop(mcfg: GPTConfig, tcfg: TrainConfig, train_ids: torch.Tensor, val_ids: torch.Tensor,
                    log) -> dict:
    """A training loop with nanoGPT ``train.py``'s CPU behaviour, written for this benchmark.

    Same model, optimiser settings, schedule and clipping as the Trainer; what differs is how the
    loop does its work: the default (non-fused, non-foreach) AdamW, fp32, per-step ``loss.item()``,
    batches read from a memory-mapped uint16 file re-opened on every call and assembled with
    ``torch.stack``, and an evaluation (random batches) at step 0 and every ``eval_interval``.
    """
    torch.manual_seed(tcfg.seed)
    T, B = mcfg.block_size, tcfg.batch_size
    folder = Path(tempfile.mkdtemp(prefix="gptlib-bench-"))
    files = {"train": folder / "train.bin", "val": folder / "val.bin"}
    for split, ids in (("train", train_ids), ("val", val_ids)):
        ids.numpy().astype(np.uint16).tofile(files[split])

    def get_batch(split):
        arr = np.memmap(files[split], dtype=np.uint16, mode="r")   # re-opened on every call
        ix = torch.randint(len(arr) - T, (B,))
        x = torch.stack([torch.from_numpy(arr[i:i + T].astype(np.int64)) for i in ix.tolist()])
        y = torch.stack([torch.from_numpy(arr[i + 1:i + 1 + T].astype(np.int64)) for i in ix.tolist()])
        return x, y

    model = GPT(mcfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": tcfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=tcfg.lr, betas=(tcfg.beta1, tcfg.beta2))

    @torch.no_grad()
    def estimate_loss(iters):
        model.eval()
        out = {}
        for split in ("train", "val"):
            losses = torch.zeros(iters)
            for k in range(iters):
                x, y = get_batch(split)
                losses[k] = model(x, y).loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    train_s = warm_s = 0.0
    val_loss = float("nan")
    log_lines = []
    step_ms = []
    x, y = get_batch("train")
    step = 0
    t0 = time.perf_counter()
    while True:
        lr = lr_at(step, tcfg)
        for g in optimizer.param_groups:
            g["lr"] = lr
        if step % tcfg.eval_interval == 0 or step == tcfg.max_steps:
            train_s += time.perf_counter() - t0
            losses = estimate_loss(tcfg.eval_iters)
            val_loss = losses["val"]
            log(f"step {step}: train {losses['train']:.4f} val {val_loss:.4f}")
            t0 = time.perf_counter()
        if step >= tcfg.max_steps:
            break
        t_step = time.perf_counter()
        loss = model(x, y).loss
        x, y = get_batch("train")
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        lossf = loss.item()                      # every step, as with log_interval=1
        log_lines.append(f"iter {step}: loss {lossf:.4f}")
        if not math.isfinite(lossf):
            raise FloatingPointError(f"loss became {lossf} at step {step}")
        step += 1
        if step >= WARMUP_STEPS:
            step_ms.append(1000 * (time.perf_counter() - t_step))
        if step == WARMUP_STEPS:
            warm_s = train_s + time.perf_counter() - t0
    train_s += time.perf_counter() - t0
    for f in files.values():
        f.unlink(missing_ok=True)
    folder.rmdir()
    return {"model": model, "step": step, "val_loss": val_loss, "train_seconds": train_s,
            "warmup_seconds": warm_s, "tokens": step * B * T, "step_ms": step_ms,
            "evaluate_val": lambda n: estimate_loss(n)["val"]}


# --------------------------------------------------------------------------- side by side with nanoGPT
NANOGPT_HOWTO = ("get a nanoGPT work tree with `git clone https://github.com/karpathy/nanoGPT DIR` and "
                 "the tinyshakespeare text (gptlib fetches it into its cache, or set GPTLIB_DATA_DIR); "
                 "then `python -m gptlib.bench --vs-nanogpt DIR` (or `make bench NANOGPT=DIR`)")
NANOGPT_TOKENS_PER_ITER = 12 * 64


class NanoGPTUnavailable(SystemExit):
    """The side-by-side mode cannot run nanoGPT here (no work tree, no data); says how to get them."""


def nanogpt_command(python: str, iters: int, eval_interval: int, out_dir: str) -> list[str]:
    """nanoGPT's train.py at its README CPU recipe, as ``../shared/bench/nanogpt_cpu_baseline.sh`` runs
    it (4 layers, 4 heads, 128 dims, context 64, batch 12, fp32, no compile, log every iteration)."""
    return [python, "train.py", "config/train_shakespeare_char.py", "--device=cpu", "--compile=False",
            "--eval_iters=20", "--log_interval=1", "--block_size=64", "--batch_size=12", "--n_layer=4",
            "--n_head=4", "--n_embd=128", f"--max_iters={iters}", f"--lr_decay_iters={iters}",
            "--dropout=0.0", f"--eval_interval={eval_interval}", f"--out_dir={out_dir}"]


def check_nanogpt_tree(folder) -> Path:
    """``folder`` as a nanoGPT work tree (train.py and its shakespeare-char config), else a clear error."""
    if folder is None:
        raise NanoGPTUnavailable(f"no nanoGPT work tree given: {NANOGPT_HOWTO}")
    tree = Path(folder).expanduser()
    if not (tree / "train.py").is_file() or not (tree / "config" / "train_shakespeare_char.py").is_file():
        raise NanoGPTUnavailable(f"{tree} is not a nanoGPT work tree (no train.py and "
                                 f"config/train_shakespeare_char.py there): {NANOGPT_HOWTO}")
    return tree.resolve()


def prepare_nanogpt_data(tree: Path, python: str, log=print) -> None:
    """Make nanoGPT's data/shakespeare_char/{train,val}.bin with its own prepare.py, from the
    tinyshakespeare text that gptlib's data registry provides (prepare.py downloads only if
    input.txt is absent)."""
    d = tree / "data" / "shakespeare_char"
    if all((d / f).is_file() for f in ("train.bin", "val.bin", "meta.pkl")):
        return
    if not (d / "input.txt").is_file():
        from .data.registry import fetch_file
        try:
            src = fetch_file("tinyshakespeare", "text")
        except Exception as e:  # noqa: BLE001 - DataUnavailableError and friends
            raise NanoGPTUnavailable(f"nanoGPT's data is not prepared in {d} and the tinyshakespeare "
                                     f"text is not available ({e}): {NANOGPT_HOWTO}") from e
        d.mkdir(parents=True, exist_ok=True)
        (d / "input.txt").write_bytes(Path(src).read_bytes())
    log(f"preparing nanoGPT's shakespeare_char data in {d}")
    import subprocess
    subprocess.run([python, "data/shakespeare_char/prepare.py"], cwd=tree, check=True,
                   stdout=subprocess.DEVNULL)


def parse_nanogpt_log(text: str, eval_interval: int) -> dict:
    """What nanoGPT's train.py log says, measured as ``nanogpt_cpu_baseline.sh`` does: the median
    ms per iteration over the steady iterations (iter ≥ 5, evaluation iterations left out: their
    time includes the evaluation), tokens/s from it, and the last evaluation's losses."""
    import re
    iters, evals = [], []
    for line in text.splitlines():
        m = re.match(r"^iter (\d+): loss ([0-9.naninf]+), time ([0-9.]+)ms", line)
        if m:
            n = int(m.group(1))
            if n >= 5 and n % eval_interval:
                iters.append(float(m.group(3)))
            continue
        m = re.match(r"^step (\d+): train loss ([0-9.]+), val loss ([0-9.]+)", line)
        if m:
            evals.append((int(m.group(1)), float(m.group(2)), float(m.group(3))))
    if not iters or not evals:
        raise ValueError("no nanoGPT iteration timings or evaluations found in the log")
    med = float(np.median(iters))
    return {"median_step_ms": round(med, 2), "tokens_per_s": round(NANOGPT_TOKENS_PER_ITER * 1000 / med, 1),
            "mean_step_ms": round(float(np.mean(iters)), 2), "steady_iters": len(iters),
            "step": evals[-1][0], "train_loss": evals[-1][1], "val_loss": evals[-1][2],
            "evals": [{"step": s, "val": v} for s, _, v in evals]}


def run_nanogpt(tree, iters: int, eval_interval: int, python: str | None = None, log=print) -> dict:
    """Run nanoGPT's train.py once (a fresh process, fp32 on the CPU); its parsed log plus
    ``wall_seconds``: the whole process, start-up, data and every evaluation included."""
    import subprocess
    python = python or sys.executable
    tree = check_nanogpt_tree(tree)
    prepare_nanogpt_data(tree, python, log)
    with tempfile.TemporaryDirectory(prefix="gptlib-vs-nanogpt-") as out:
        t0 = time.perf_counter()
        proc = subprocess.run(nanogpt_command(python, iters, eval_interval, str(Path(out) / "ckpt")), cwd=tree,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"nanoGPT's train.py failed (exit {proc.returncode}):\n" + proc.stdout[-2000:])
    out = parse_nanogpt_log(proc.stdout, eval_interval)
    out["wall_seconds"] = round(wall, 2)
    return out


def run_gptlib_subprocess(args: list[str], python: str | None = None) -> dict:
    """``python -m gptlib.bench ARGS`` in a fresh process (so time to quality counts its start-up);
    its JSON line, with ``wall_seconds_outside`` timed from here."""
    import subprocess
    t0 = time.perf_counter()
    proc = subprocess.run([python or sys.executable, "-m", "gptlib.bench", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"gptlib.bench {' '.join(args)} failed (exit {proc.returncode}):\n" + proc.stderr[-2000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds_outside"] = round(wall, 2)
    return result


VS_MODES = ("throughput", "quality")


def side_by_side(tree, mode: str = "throughput", rounds: int = 2, *, target_val_loss: float = 1.886,
                 gptlib_args: list[str] | None = None, python: str | None = None, log=print) -> dict:
    """nanoGPT's train.py and gptlib, alternately (nanoGPT, gptlib, nanoGPT, gptlib, ...), ``rounds``
    times each, on this machine; each run and the median ratios.

    ``throughput``: both at nanoGPT's identical preset for 300 steps, fp32, evaluating at steps 0/300
    (nanoGPT) and 300 (gptlib); tokens/s = tokens per step / median step time on both sides.
    ``quality``: nanoGPT's README recipe (2,000 steps, an evaluation every 250) against
    ``--preset fast-cpu --target-val-loss 1.886``; the ratio is nanoGPT's whole wall time over
    gptlib's seconds from its process start to the target."""
    if mode not in VS_MODES:
        raise SystemExit(f"--vs-mode must be one of {VS_MODES}, got {mode!r}")
    tree = check_nanogpt_tree(tree)
    if mode == "throughput":
        n_iters, n_eval = 300, 300
        ours = ["--preset", "nanogpt-cpu", "--iters", "300", "--precision", "fp32", "--eval-interval", "300"]
    else:
        n_iters, n_eval = 2000, 250
        ours = ["--preset", "fast-cpu", "--target-val-loss", str(target_val_loss)]
    ours = ours + ["--no-peak"] + list(gptlib_args or [])
    runs = []
    for r in range(rounds):
        nano = run_nanogpt(tree, n_iters, n_eval, python, log)
        line = {"round": r + 1, "who": "nanoGPT", **{k: v for k, v in nano.items() if k != "evals"}}
        log("nanoGPT  " + json.dumps(line))
        runs.append(line)
        mine = run_gptlib_subprocess(ours, python)
        keep = ("tokens_per_s", "median_tokens_per_s", "median_step_ms", "val_loss", "seconds_to_target",
                "steps_to_target", "val_loss_confirm", "wall_seconds", "wall_seconds_outside", "compile",
                "optimizer", "precision", "threads", "load_average")
        line = {"round": r + 1, "who": "gptlib", **{k: mine[k] for k in keep if k in mine}}
        log("gptlib   " + json.dumps(line))
        runs.append(line)
    pairs = list(zip(runs[0::2], runs[1::2]))
    if mode == "throughput":
        ratios = [g["median_tokens_per_s"] / n["tokens_per_s"] for n, g in pairs]
        val_gaps = [g["val_loss"] - n["val_loss"] for n, g in pairs]
        summary = {"throughput_ratio_median": round(float(np.median(ratios)), 3),
                   "throughput_ratios": [round(x, 3) for x in ratios],
                   "val_gap_median": round(float(np.median(val_gaps)), 4),
                   "val_gaps": [round(x, 4) for x in val_gaps]}
    else:
        ratios = [(n["wall_seconds"] / g["seconds_to_target"]) if g.get("seconds_to_target") else 0.0
                  for n, g in pairs]
        summary = {"time_to_quality_ratio_median": round(float(np.median(ratios)), 3),
                   "time_to_quality_ratios": [round(x, 3) for x in ratios],
                   "nanogpt_val": [n["val_loss"] for n, _ in pairs],
                   "gptlib_val_confirm": [g.get("val_loss_confirm") for _, g in pairs]}
    return {"mode": mode, "rounds": rounds, "nanogpt_tree": str(tree), **summary, "runs": runs}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="nanogpt-cpu", choices=PRESETS)
    ap.add_argument("--iters", type=int, default=None, help="training steps (default: the preset's)")
    ap.add_argument("--precision", default=None, choices=["auto", "fp32", "bf16", "fp16", "bf16-if-native"],
                    help="default: the preset's (nanogpt-cpu: the runtime's auto policy)")
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--fused", action=argparse.BooleanOptionalAction, default=None,
                    help="fused AdamW (--no-fused: the foreach version)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--target-val-loss", type=float, default=None,
                    help="stop at the first evaluation at or below this validation loss")
    ap.add_argument("--eval-interval", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a TrainConfig field, e.g. --set batch_size=32 --set lr=3e-3")
    ap.add_argument("--reference-loop", action="store_true",
                    help="train with the nanoGPT-style reference loop instead of gptlib.Trainer")
    ap.add_argument("--no-peak", action="store_true", help="skip measuring the matmul peak (no MFU)")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--vs-nanogpt", metavar="DIR", default=None,
                    help="side by side with nanoGPT's train.py in this work tree, alternating A B A B")
    ap.add_argument("--vs-mode", choices=VS_MODES, default="throughput",
                    help="throughput: identical preset, 300 steps; quality: time to --target-val-loss "
                         "(default 1.886) against nanoGPT's 2,000-step recipe")
    ap.add_argument("--rounds", type=int, default=2, help="side-by-side rounds (each: nanoGPT, then gptlib)")
    args, extra = ap.parse_known_args(argv)
    if args.vs_nanogpt is not None:
        # flags after "--" (or unknown to this parser) go to the gptlib runs, e.g. -- --threads 1
        out = side_by_side(args.vs_nanogpt, args.vs_mode, args.rounds,
                           target_val_loss=args.target_val_loss or 1.886,
                           gptlib_args=[a for a in extra if a != "--"] + (["--threads", str(args.threads)] if args.threads else []),
                           log=lambda *a: print(*a, file=sys.stderr, flush=True))
        key = "throughput_ratio_median" if args.vs_mode == "throughput" else "time_to_quality_ratio_median"
        print(f"# {args.vs_mode}: gptlib / nanoGPT median ratio {out[key]} over {args.rounds} rounds", file=sys.stderr)
        print(json.dumps(out), flush=True)
        return
    if extra:
        ap.error(f"unrecognized arguments: {' '.join(extra)}")
    result = run(args.preset, args.iters, args.precision, args.compile, args.fused,
                 args.target_val_loss, args.eval_interval, args.progress,
                 log=lambda *a: print(*a, file=sys.stderr, flush=True), threads=args.threads,
                 overrides=parse_overrides(args.set), reference_loop=args.reference_loop,
                 measure_peak=not args.no_peak)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
