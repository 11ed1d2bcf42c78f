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
``fast-cpu``     the same model, trained for *time to quality* on a CPU: larger batches, a higher
                 learning rate, a short schedule and bf16 where the CPU has bf16 units. Use it with
                 ``--target-val-loss 1.886`` to stop at the first evaluation that reaches it.
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
        if isinstance(default, bool) or default is None:
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
        if target_val_loss is None:
            trainer.fit(steps=warm)
            warm_s = trainer.history.train_seconds
            hist = trainer.fit()
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
        if step == WARMUP_STEPS:
            warm_s = train_s + time.perf_counter() - t0
    train_s += time.perf_counter() - t0
    for f in files.values():
        f.unlink(missing_ok=True)
    folder.rmdir()
    return {"model": model, "step": step, "val_loss": val_loss, "train_seconds": train_s,
            "warmup_seconds": warm_s, "tokens": step * B * T,
            "evaluate_val": lambda n: estimate_loss(n)["val"]}


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
    args = ap.parse_args(argv)
    result = run(args.preset, args.iters, args.precision, args.compile, args.fused,
                 args.target_val_loss, args.eval_interval, args.progress,
                 log=lambda *a: print(*a, file=sys.stderr, flush=True), threads=args.threads,
                 overrides=parse_overrides(args.set), reference_loop=args.reference_loop,
                 measure_peak=not args.no_peak)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
