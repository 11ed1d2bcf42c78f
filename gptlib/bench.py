"""Training throughput benchmark: ``python -m gptlib.bench --preset nanogpt-cpu --iters 2000``.

Trains a named preset with the book's own :class:`~gptlib.training.Trainer` and prints, as its
last line, one JSON object with ``tokens_per_s``, ``mfu`` (model FLOPs utilisation against this
machine's *measured* matmul peak at the precision used, also printed) and ``val_loss``.

Presets
-------
``nanogpt-cpu``  nanoGPT's shakespeare-char CPU recipe, identical model and optimiser: char-level
                 tinyshakespeare split 90/10; 4 layers, 4 heads, 128 dims, context 64, batch 12,
                 no dropout, no bias, tied embeddings; AdamW lr 1e-3, betas (0.9, 0.99), weight
                 decay 0.1 on 2-D weights, 100 warmup steps, cosine to 1e-4 at the last step,
                 gradient clipping at 1.0.
``fast-cpu``     the same model, trained for time to quality on a CPU: larger batches and
                 learning rate.
``shakespeare-gpu`` nanoGPT's shakespeare-char GPU recipe (6 layers, 6 heads, 384 dims, context
                 256, batch 64, dropout 0.2).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from .model import GPT, GPTConfig
from .runtime import get_runtime
from .training import TrainConfig, Trainer
from .zoo import corpus

PRESETS = {
    "nanogpt-cpu": dict(
        model=dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False, tie_weights=True),
        train=dict(max_steps=2000, batch_size=12, lr=1e-3, min_lr=1e-4, warmup_steps=100, weight_decay=0.1,
                   beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=250, eval_iters=20)),
    "fast-cpu": dict(
        model=dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False, tie_weights=True),
        train=dict(max_steps=2000, batch_size=32, lr=2e-3, min_lr=2e-4, warmup_steps=100, weight_decay=0.1,
                   beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=250, eval_iters=20)),
    "shakespeare-gpu": dict(
        model=dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, bias=False, tie_weights=True),
        train=dict(max_steps=5000, batch_size=64, lr=1e-3, min_lr=1e-4, warmup_steps=100, weight_decay=0.1,
                   beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=500, eval_iters=200, compile=True)),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure_matmul_peak(device: torch.device, dtype: torch.dtype, seconds: float = 1.0) -> float:
    """Measured FLOP/s of a large square matmul at ``dtype`` on ``device`` (the best of several runs)."""
    n = 4096 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        reps = 10 if device.type == "cuda" else 2
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        best = max(best, 2 * n ** 3 * reps / (time.perf_counter() - t0))
    return best


def run(preset: str, iters: int | None = None, precision: str | None = None, compile: bool | None = None,
        fused: bool | None = None, target_val_loss: float | None = None, eval_interval: int | None = None,
        progress: bool = False, log=print) -> dict:
    if preset not in PRESETS:
        raise SystemExit(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    wall0 = time.perf_counter()
    rt = get_runtime(profile="gpu" if torch.cuda.is_available() else "cpu", precision=precision)
    p = PRESETS[preset]
    tok, train_ids, val_ids = corpus("tinyshakespeare", "char")
    mcfg = GPTConfig(vocab_size=tok.vocab_size, **p["model"])
    tcfg = TrainConfig(**p["train"], progress=progress, log_interval=50)
    if iters is not None:
        tcfg.max_steps = iters
    if compile is not None:
        tcfg.compile = compile
    if fused is not None:
        tcfg.fused_adamw = fused
    if eval_interval is not None:
        tcfg.eval_interval = eval_interval
    peak = measure_matmul_peak(rt.device, rt.dtype)
    log(f"device={rt.device.type} precision={rt.precision} measured matmul peak: {peak / 1e9:.1f} GFLOP/s")

    torch.manual_seed(tcfg.seed)
    model = GPT(mcfg)
    reached = {}

    def on_eval(trainer, step, train_loss, val_loss):
        log(f"step {step}: train {train_loss:.4f} val {val_loss:.4f} "
            f"({time.perf_counter() - wall0:.1f} s since start)")
        if target_val_loss is not None and val_loss <= target_val_loss and "step" not in reached:
            reached.update(step=step, seconds=time.perf_counter() - wall0)
            trainer.cfg.max_steps = step  # stop here: the target is met

    trainer = Trainer(model, tcfg, rt, train_data=train_ids, val_data=val_ids, on_eval=on_eval)
    hist = trainer.fit()
    tokens = hist.tokens_seen
    tps = tokens / hist.train_seconds
    fpt = model.flops_per_token(training=True)
    result = {
        "preset": preset, "device": rt.device.type, "precision": rt.precision, "compile": tcfg.compile,
        "fused_adamw": trainer.optimizer.defaults.get("fused", False) or False,
        "iters": trainer.step, "batch_size": tcfg.batch_size, "block_size": mcfg.block_size,
        "params": model.num_params(), "flops_per_token": fpt,
        "tokens_per_s": round(tps, 1), "peak_flops": round(peak, 1),
        "mfu": round(tps * fpt / peak, 4), "val_loss": round(hist.final_val, 4),
        "train_seconds": round(hist.train_seconds, 2),
        "wall_seconds": round(time.perf_counter() - wall0, 2),
        "threads": torch.get_num_threads(),
    }
    if target_val_loss is not None:
        result["target_val_loss"] = target_val_loss
        result["seconds_to_target"] = round(reached["seconds"], 2) if reached else None
        result["steps_to_target"] = reached.get("step")
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="nanogpt-cpu", choices=sorted(PRESETS))
    ap.add_argument("--iters", type=int, default=None, help="training steps (default: the preset's)")
    ap.add_argument("--precision", default=None, choices=["auto", "fp32", "bf16", "fp16"])
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--fused", action=argparse.BooleanOptionalAction, default=None, help="fused AdamW")
    ap.add_argument("--target-val-loss", type=float, default=None,
                    help="stop at the first evaluation at or below this validation loss")
    ap.add_argument("--eval-interval", type=int, default=None)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    result = run(args.preset, args.iters, args.precision, args.compile, args.fused,
                 args.target_val_loss, args.eval_interval, args.progress,
                 log=lambda *a: print(*a, file=sys.stderr, flush=True))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
