"""The training loop, with each of its parts visible.

* AdamW with weight decay on 2-D weights only (matrices and embeddings; not biases or norm gains),
  fused into one kernel where the installed torch supports it;
* learning rate: linear warmup, then cosine decay to ``min_lr`` at the last step;
* gradient clipping, gradient accumulation, mixed precision from the :class:`~gptlib.runtime.Runtime`
  (bf16 autocast, or fp16 with a grad scaler), opt-in ``torch.compile``;
* periodic evaluation on fixed batches, a tqdm progress bar, a :class:`History` that plots itself;
* atomic checkpoints with everything needed to resume the same run (model, optimiser, scaler,
  random states, step, history);
* data-parallel training under ``torchrun`` (DDP; gloo on CPU, NCCL on GPUs).
"""
from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field

import torch
import torch.distributed as dist
import torch.nn as nn

from . import data as gdata
from .checkpoints import load_checkpoint, save_checkpoint
from .runtime import Runtime, get_runtime


@dataclass
class TrainConfig:
    max_steps: int = 1000
    batch_size: int = 12             # sequences per micro-batch (per process under DDP)
    grad_accum: int = 1              # micro-batches per optimiser step
    lr: float = 1e-3
    min_lr: float = 1e-4             # cosine decays to this at the last step
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0           # 0 disables clipping
    eval_interval: int = 250         # 0 evaluates only at the end
    eval_iters: int = 20
    compile: bool = False
    fused_adamw: bool | None = None  # None: fused when the device supports it
    seed: int = 1337
    log_interval: int = 10
    progress: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for ``step`` (0-based): linear warmup to ``lr``, cosine to ``min_lr`` at the end."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    last = max(cfg.max_steps - 1, cfg.warmup_steps)
    progress = (step - cfg.warmup_steps) / max(1, last - cfg.warmup_steps)
    progress = min(max(progress, 0.0), 1.0)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def configure_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW; weight decay only on parameters with ≥ 2 dimensions (matmul weights, embeddings)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    fused = cfg.fused_adamw
    if fused is None:
        fused = device.type in ("cuda", "cpu")
    betas = (cfg.beta1, cfg.beta2)
    if fused:
        try:   # one kernel for the whole update (CPU support arrived in torch 2.4)
            return torch.optim.AdamW(groups, lr=cfg.lr, betas=betas, fused=True)
        except (RuntimeError, TypeError, ValueError) as e:
            if cfg.fused_adamw:
                warnings.warn(f"fused AdamW unavailable here ({e}); using the foreach version")
    # ``foreach``: one multi-tensor kernel per operation; torch's own CPU default is a Python loop
    # over the parameters, several times slower for a model with many small tensors.
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=betas, foreach=True)


# ---------------------------------------------------------------------------------- distributed
def distributed_env() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) when not distributed."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def init_distributed(rt: Runtime) -> tuple[int, int]:
    """Join the process group torchrun set up (NCCL on GPUs, gloo on CPU). Returns (rank, world)."""
    rank, world, local = distributed_env()
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if rt.device.type == "cuda" else "gloo"
        if rt.device.type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return rank, world


# -------------------------------------------------------------------------------------- history
@dataclass
class History:
    steps: list = field(default_factory=list)        # every logged step
    train_loss: list = field(default_factory=list)   # mean micro-batch loss at those steps
    lr: list = field(default_factory=list)
    eval_steps: list = field(default_factory=list)
    eval_train: list = field(default_factory=list)
    eval_val: list = field(default_factory=list)
    tokens_seen: int = 0
    train_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**d)

    @property
    def final_val(self) -> float:
        return self.eval_val[-1] if self.eval_val else float("nan")

    def plot(self, ax=None, label: str = "", log_y: bool = False):
        """Training loss per step (thin) and evaluated train/val loss (markers)."""
        import matplotlib.pyplot as plt
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        p = f"{label} " if label else ""
        ax.plot(self.steps, self.train_loss, alpha=0.35, lw=1, label=f"{p}train (batch)")
        if self.eval_steps:
            ax.plot(self.eval_steps, self.eval_train, "o-", ms=3, label=f"{p}train (eval)")
            ax.plot(self.eval_steps, self.eval_val, "s-", ms=3, label=f"{p}validation")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy loss (nats/token)")
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
        return ax


# -------------------------------------------------------------------------------------- trainer
class Trainer:
    """Train ``model`` on a token stream (``train_data``/``val_data``) or on any ``batch_fn``.

    ``batch_fn(split, generator) -> (x, y)`` replaces the default random LM windows (useful for
    classification or instruction data); ``loss_fn(model, x, y) -> loss`` replaces
    ``model(x, y)[1]``. ``on_eval(trainer, step, train_loss, val_loss)`` runs after each evaluation;
    it may set ``trainer.should_stop = True`` to end :meth:`fit` there (e.g. a target loss is met).
    """

    def __init__(self, model: nn.Module, cfg: TrainConfig, rt: Runtime | None = None, *,
                 train_data: torch.Tensor | None = None, val_data: torch.Tensor | None = None,
                 batch_fn=None, loss_fn=None, on_eval=None, checkpoint_path=None):
        self.rt = rt or get_runtime()
        self.cfg = cfg
        self.rank, self.world = init_distributed(self.rt)
        if batch_fn is None:
            if train_data is None or val_data is None:
                raise ValueError("give train_data and val_data (1-D token tensors), or a batch_fn")
            block = model.config.block_size
            datasets = {"train": train_data, "val": val_data}

            def batch_fn(split, gen):
                return gdata.get_batch(datasets[split], block, cfg.batch_size, self.rt.device, gen)
        self.batch_fn = batch_fn
        self.loss_fn = loss_fn or (lambda m, x, y: m(x, y)[1])
        self.on_eval = on_eval
        self.checkpoint_path = checkpoint_path
        self.model = model.to(self.rt.device)
        self.optimizer = configure_optimizer(self.model, cfg, self.rt.device)
        self.scaler = self.rt.grad_scaler()
        self.step = 0
        self.history = History()
        # Each rank draws different batches; evaluation batches are fixed so evals are comparable.
        self.gen = torch.Generator().manual_seed(cfg.seed + self.rank)
        self.net = self.model
        if self.world > 1:
            ids = [self.rt.device.index or 0] if self.rt.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.should_stop = False
        self._eager_net = self.net
        self._compile_pending = False
        if cfg.compile:
            self.net = compile_model(self.net)
            self._compile_pending = self.net is not self._eager_net
        if checkpoint_path and os.path.exists(checkpoint_path):
            self.load(checkpoint_path)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, iters: int | None = None) -> dict[str, float]:
        """Mean loss over ``iters`` fixed batches of each split (averaged across DDP ranks)."""
        iters = iters or self.cfg.eval_iters
        self.model.eval()
        out = {}
        for split in ("train", "val"):
            gen = torch.Generator().manual_seed(10_000 + self.cfg.seed + self.rank)
            total = torch.zeros((), device=self.rt.device)
            for _ in range(iters):
                x, y = self.batch_fn(split, gen)
                with self.rt.autocast():
                    total += self.loss_fn(self.model, x, y).float()
            mean = total / iters
            if self.world > 1:
                dist.all_reduce(mean)
                mean /= self.world
            out[split] = float(mean)
        self.model.train()
        return out

    # ------------------------------------------------------------------------------ training
    def train_step(self) -> torch.Tensor:
        """One optimiser step over ``grad_accum`` micro-batches. Returns the mean loss (a tensor).

        With ``compile=True`` the first step is also the compilation (forward and backward graphs);
        if that fails (no C++ compiler, an unsupported platform) the step is redone without it.
        """
        if not self._compile_pending:
            return self._train_step()
        self._compile_pending = False
        batch_state = self.gen.get_state()
        try:
            return self._train_step()
        except Exception as e:  # noqa: BLE001 - any compiler failure falls back to eager mode
            warnings.warn(f"torch.compile failed at the first step ({type(e).__name__}: "
                          f"{str(e).splitlines()[0][:200] if str(e) else ''}); training without it")
            self.optimizer.zero_grad(set_to_none=True)
            self.gen.set_state(batch_state)
            self.net = self._eager_net
            return self._train_step()

    @property
    def compiled(self) -> bool:
        """True while training runs through ``torch.compile`` (False after a fallback)."""
        return self.net is not self._eager_net

    def _train_step(self) -> torch.Tensor:
        cfg = self.cfg
        lr = lr_at(self.step, cfg)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        total = None
        for micro in range(cfg.grad_accum):
            x, y = self.batch_fn("train", self.gen)
            sync = micro == cfg.grad_accum - 1
            ctx = self.net.no_sync() if (self.world > 1 and not sync) else contextlib.nullcontext()
            with ctx:
                with self.rt.autocast():
                    loss = self.loss_fn(self.net, x, y)
                    if cfg.grad_accum > 1:
                        loss = loss / cfg.grad_accum
                self.scaler.scale(loss).backward()
            # No .item() here: reading the loss would make the CPU wait for the GPU every step.
            total = loss.detach().float() if total is None else total + loss.detach().float()
        if cfg.grad_clip:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.history.tokens_seen += cfg.batch_size * cfg.grad_accum * self.world * x.numel() // x.size(0)
        return total

    def fit(self, steps: int | None = None) -> History:
        """Train until ``cfg.max_steps`` (or ``steps`` more steps), evaluating periodically."""
        cfg = self.cfg
        end = cfg.max_steps if steps is None else min(cfg.max_steps, self.step + steps)
        bar = None
        if cfg.progress and self.is_main:
            from tqdm.auto import tqdm
            bar = tqdm(total=end, initial=self.step, desc="training", leave=True)
        self.model.train()
        self.should_stop = False
        t0 = time.perf_counter()
        while self.step < end and not self.should_stop:
            loss = self.train_step()
            step = self.step
            if step % cfg.log_interval == 0 or step == end:
                value = float(loss)
                if not math.isfinite(value):
                    raise FloatingPointError(f"loss became {value} at step {step}; lower the learning "
                                             "rate or enable gradient clipping")
                self.history.steps.append(step)
                self.history.train_loss.append(value)
                self.history.lr.append(lr_at(step - 1, cfg))
                if bar is not None:
                    bar.set_postfix(loss=f"{value:.3f}")
            if bar is not None:
                bar.update(1)
            if (cfg.eval_interval and step % cfg.eval_interval == 0) or step == cfg.max_steps:
                self.history.train_seconds += time.perf_counter() - t0
                losses = self.evaluate()
                self.history.eval_steps.append(step)
                self.history.eval_train.append(losses["train"])
                self.history.eval_val.append(losses["val"])
                if self.on_eval is not None and self.is_main:
                    self.on_eval(self, step, losses["train"], losses["val"])
                if self.checkpoint_path and self.is_main:
                    self.save(self.checkpoint_path)
                t0 = time.perf_counter()
        self.history.train_seconds += time.perf_counter() - t0
        if bar is not None:
            bar.close()
        return self.history

    # --------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "history": self.history.to_dict(),
            "train_config": self.cfg.to_dict(),
            "model_config": self.model.config.to_dict() if hasattr(self.model, "config") else None,
            "batch_rng": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
        }

    def save(self, path) -> None:
        """Atomically save everything needed to resume this run."""
        save_checkpoint(path, self.state_dict())

    def load(self, path) -> None:
        """Resume from a checkpoint written by :meth:`save`."""
        state = load_checkpoint(path)
        missing = {"model", "optimizer", "step"} - set(state)
        if missing:
            raise ValueError(f"{path} is not a training checkpoint (missing {sorted(missing)})")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.history = History.from_dict(state["history"])
        self.gen.set_state(state["batch_rng"])
        torch.set_rng_state(state["torch_rng"])


def compile_model(model: nn.Module) -> nn.Module:
    """``torch.compile(model)``, or ``model`` itself (with a warning) where compiling is unavailable
    or switched off with ``GPTLIB_NO_COMPILE=1``. Compilation itself happens at the first call;
    :meth:`Trainer.train_step` falls back to the eager model if it fails there."""
    if not hasattr(torch, "compile"):
        warnings.warn("torch.compile needs torch >= 2.0; training without it")
        return model
    if os.environ.get("GPTLIB_NO_COMPILE", "") not in ("", "0"):
        warnings.warn("GPTLIB_NO_COMPILE is set; training without torch.compile")
        return model
    try:
        return torch.compile(model)
    except Exception as e:  # noqa: BLE001 - e.g. unsupported Python version or platform
        warnings.warn(f"torch.compile unavailable ({e}); training without it")
        return model
