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
from . import settings
from .checkpoints import load_checkpoint, save_checkpoint
from .runtime import Runtime, get_runtime


# ---------------------------------------------------------------- process-wide FLOPs tally
# Every Trainer step adds 6·N·tokens (N: the model's parameters, tied ones counted once; tokens:
# this step's training tokens over all ranks), the usual estimate of a training step's work that
# leaves attention's 4·L·T·C term out. tools/run_chapter.py records it per cell and per chapter,
# so the course guide can estimate GPU times from the work a chapter did (tools/chapter_times.py).
_FLOPS_TALLY = {"flops": 0.0, "tokens": 0, "steps": 0}


def _count_training_flops(model: nn.Module, tokens: int) -> None:
    n = sum(p.numel() for p in model.parameters())
    _FLOPS_TALLY["flops"] += 6.0 * n * tokens
    _FLOPS_TALLY["tokens"] += int(tokens)
    _FLOPS_TALLY["steps"] += 1


def training_flops() -> dict:
    """What every Trainer in this process has trained so far: ``{"flops": 6·N·tokens summed over
    steps, "tokens": ..., "steps": ...}`` (a copy)."""
    return dict(_FLOPS_TALLY)


def reset_training_flops() -> None:
    """Set the process-wide tally of :func:`training_flops` back to zero."""
    _FLOPS_TALLY.update(flops=0.0, tokens=0, steps=0)


@dataclass
class TrainConfig:
    max_steps: int = 1000
    epochs: int | None = None        # finite datasets: sets max_steps to epochs × steps per epoch
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
    optimizer: str = "adamw"         # "adamw", or "muon": Muon on the hidden 2-D matrices, AdamW on the rest
    muon_lr: float = 0.02            # Muon's peak learning rate (follows the same schedule as ``lr``)
    muon_momentum: float = 0.95
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


OPTIMIZERS = ("adamw", "muon")
_HEAD_NAMES = ("lm_head", "head", "classifier", "score")


def muon_split(model: nn.Module) -> tuple[list, list]:
    """(Muon parameters, AdamW parameters) as the nanoGPT speedrun splits them.

    Muon takes the hidden matrices: the 2-D weights of ``nn.Linear`` layers inside the network.
    AdamW takes everything else: embeddings (token and position), an output head (``lm_head``,
    ``head``, ``classifier``, ``score``; with tied weights that is the token embedding anyway),
    norm gains and biases. Orthogonalising an update suits a matrix that maps one hidden space to
    another, not a lookup table or a vector."""
    embedding_ids = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    head_ids = set()
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear) and name.rsplit(".", 1)[-1] in _HEAD_NAMES:
            head_ids.add(id(m.weight))
    linear_ids = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)}
    muon, rest, seen = [], [], set()
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        if p.dim() == 2 and id(p) in linear_ids and id(p) not in embedding_ids and id(p) not in head_ids:
            muon.append(p)
        else:
            rest.append(p)
    return muon, rest


class MuonAdamW:
    """Muon for the hidden matrices and AdamW for the rest, driven as one optimiser.

    ``param_groups`` lists both optimisers' groups (the Trainer sets each group's ``lr`` from the
    schedule times its ``lr_scale``: Muon's is ``muon_lr / lr``); ``state_dict()`` holds both, so
    checkpoints save and resume as with AdamW alone."""

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.Optimizer):
        self.muon, self.adamw = muon, adamw
        self.defaults = dict(adamw.defaults, muon=dict(muon.defaults))

    @property
    def param_groups(self):
        return self.muon.param_groups + self.adamw.param_groups

    @property
    def state(self):
        return {**self.muon.state, **self.adamw.state}

    def step(self, closure=None):
        loss = self.muon.step(closure)
        self.adamw.step()
        return loss

    def zero_grad(self, set_to_none: bool = True):
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if set(state) != {"muon", "adamw"}:
            raise ValueError("this checkpoint's optimiser state is not Muon+AdamW's; resume it with "
                             "the optimizer it was trained with")
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])

    def __repr__(self) -> str:
        return f"MuonAdamW(\n{self.muon!r},\n{self.adamw!r})"


def _adamw(groups, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
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


def configure_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device):
    """AdamW; weight decay only on parameters with ≥ 2 dimensions (matmul weights, embeddings).

    ``cfg.optimizer == "muon"``: :class:`MuonAdamW`, ``torch.optim.Muon`` (lr ``cfg.muon_lr``,
    Nesterov momentum ``cfg.muon_momentum``, weight decay ``cfg.weight_decay``) on the hidden
    matrices of :func:`muon_split`, AdamW as above on the embeddings, head, norms and biases."""
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")
    if cfg.optimizer == "muon":
        if not hasattr(torch.optim, "Muon"):
            raise RuntimeError("optimizer='muon' needs torch.optim.Muon (torch >= 2.9)")
        muon_params, rest = muon_split(model)
        if not muon_params:
            raise ValueError("optimizer='muon' found no hidden nn.Linear matrices in this model")
        muon = torch.optim.Muon([{"params": muon_params, "lr_scale": cfg.muon_lr / cfg.lr}], lr=cfg.muon_lr,
                                weight_decay=cfg.weight_decay, momentum=cfg.muon_momentum, nesterov=True)
        groups = [{"params": [p for p in rest if p.dim() >= 2], "weight_decay": cfg.weight_decay},
                  {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0}]
        return MuonAdamW(muon, _adamw([g for g in groups if g["params"]], cfg, device))
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return _adamw(groups, cfg, device)


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


# ---------------------------------------------------------------------------------- batches
def _to_device(batch, device: torch.device):
    """Move a batch (a tensor, a tuple/list of them, or a dict of them) to ``device``."""
    if isinstance(batch, torch.Tensor):
        if device.type == "cuda":
            return batch.pin_memory().to(device, non_blocking=True)
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def batch_tokens(batch) -> int:
    """Tokens the model reads in a batch: the real (unpadded) ones when it carries an
    ``attention_mask``, else every id of its first tensor."""
    if isinstance(batch, dict):
        if "attention_mask" in batch:
            return int(batch["attention_mask"].sum())
        first = batch.get("input_ids", next(iter(batch.values())))
        return first.numel()
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return first.numel()


def default_loss(model, *batch):
    """``model(**batch).loss`` for a dict batch, ``model(x, y).loss`` for an (x, y) batch."""
    if len(batch) == 1 and isinstance(batch[0], dict):
        return model(**batch[0]).loss
    return model(*batch).loss


def _labels_and_predictions(batch, output):
    """Flattened (labels, argmax predictions) of a batch, positions labelled -100 left out."""
    if isinstance(batch, dict):
        labels = batch.get("labels", batch.get("targets"))
    else:
        labels = batch[-1]
    if labels is None or output.logits is None:
        raise ValueError("metrics need labels in the batch ('labels' or 'targets') and logits in the output")
    pred = output.logits.argmax(-1)
    keep = labels != -100
    return labels[keep].cpu().tolist(), pred[keep].cpu().tolist()


# -------------------------------------------------------------------------------------- trainer
class Trainer:
    """Train ``model`` on a token stream, on a finite dataset, or on any ``batch_fn``.

    Data, one of:

    * ``train_data``/``val_data``: 1-D token tensors; batches are random windows (``get_batch``)
      and training runs ``cfg.max_steps`` steps. Splits: ``"train"``, ``"val"``.
    * ``datasets={"train": [...], "validation": [...], "test": [...]}`` with a ``collate_fn``
      that turns a list of examples into a batch (a dict such as ``input_ids``, ``attention_mask``,
      ``labels``, or an ``(x, y)`` pair): epochs over shuffled examples. ``cfg.epochs`` sets the
      number of steps when given. Evaluation during training reads ``"validation"``.
    * ``batch_fn(split, generator) -> batch``: anything else.

    ``loss_fn(model, *batch) -> loss`` replaces :func:`default_loss` (``model(x, y).loss`` or
    ``model(**batch).loss``). ``on_eval(trainer, step, train_loss, val_loss)`` runs after each
    evaluation; it may set ``trainer.should_stop = True`` to end :meth:`fit` there.

    The constructor has no hidden effects: it moves the model to the runtime's device and builds
    the optimiser. Data parallelism is asked for (``ddp=True``, after
    :func:`init_distributed`), compilation is a config field (``cfg.compile``), and resuming is a
    call (:meth:`resume`); ``checkpoint_path`` is only where evaluations save the run.
    """

    def __init__(self, model: nn.Module, cfg: TrainConfig, rt: Runtime | None = None, *,
                 train_data: torch.Tensor | None = None, val_data: torch.Tensor | None = None,
                 datasets: dict | None = None, collate_fn=None, batch_fn=None, loss_fn=None,
                 on_eval=None, checkpoint_path=None, ddp: bool = False):
        self.rt = rt or get_runtime()
        self.cfg = cfg
        self.rank, self.world = 0, 1
        if ddp:
            if not (dist.is_available() and dist.is_initialized()):
                raise RuntimeError("ddp=True needs a process group: run under torchrun and call "
                                   "gptlib.training.init_distributed(rt) before making the Trainer")
            self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.datasets = None
        self.val_split = "val"
        sources = (train_data is not None or val_data is not None, datasets is not None, batch_fn is not None)
        if sum(sources) != 1:
            raise ValueError("give exactly one source of data: train_data and val_data (1-D token tensors), "
                             "datasets (with collate_fn), or batch_fn")
        if datasets is not None:
            if collate_fn is None:
                raise ValueError("datasets need a collate_fn that turns a list of examples into a batch "
                                 "(e.g. gptlib.data.collate_classification)")
            if "train" not in datasets or len(datasets["train"]) == 0:
                raise ValueError(f"datasets needs a non-empty 'train' split, got splits {sorted(datasets)}")
            self.datasets, self.collate_fn = datasets, collate_fn
            self.val_split = "validation" if "validation" in datasets else ("val" if "val" in datasets else "train")
            if cfg.epochs is not None:
                cfg.max_steps = cfg.epochs * self.steps_per_epoch
            batch_fn = self._dataset_batch
        elif batch_fn is None:
            if train_data is None or val_data is None:
                raise ValueError("give train_data and val_data (1-D token tensors), or a batch_fn")
            block = model.config.block_size
            streams = {"train": train_data, "val": val_data}

            def batch_fn(split, gen):
                if split not in streams:
                    raise KeyError(f"no split {split!r}; this trainer has 'train' and 'val'")
                return gdata.get_batch(streams[split], block, cfg.batch_size, self.rt.device, gen)
        self.batch_fn = batch_fn
        self.loss_fn = loss_fn or default_loss
        self.on_eval = on_eval
        self.checkpoint_path = checkpoint_path
        self.model = model.to(self.rt.device)
        self.optimizer = configure_optimizer(self.model, cfg, self.rt.device)
        self.scaler = self.rt.grad_scaler()
        self.step = 0
        self.history = History()
        # Each rank draws different batches; evaluation batches are fixed so evals are comparable.
        self.gen = torch.Generator().manual_seed(cfg.seed + self.rank)
        self._order: list[int] = []          # finite datasets: this epoch's remaining example order
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

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---------------------------------------------------------------------- finite datasets
    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps in one pass over the training split (finite datasets)."""
        if self.datasets is None:
            raise ValueError("steps_per_epoch needs finite datasets (datasets=...)")
        per_step = self.cfg.batch_size * self.cfg.grad_accum * self.world
        return max(1, math.ceil(len(self.datasets["train"]) / per_step))

    def _dataset_batch(self, split, gen):
        """The next training batch of a shuffled epoch (each rank takes its share of the order)."""
        if split != "train":
            raise KeyError("finite datasets are evaluated split by split; use evaluate(split)")
        n = len(self.datasets["train"])
        bs = self.cfg.batch_size
        if len(self._order) < bs * self.world:
            self._order += torch.randperm(n, generator=gen).tolist()
        take, self._order = self._order[:bs * self.world], self._order[bs * self.world:]
        mine = take[self.rank * bs:(self.rank + 1) * bs]
        return _to_device(self.collate_fn([self.datasets["train"][i] for i in mine]), self.rt.device)

    def batches(self, split: str, batch_size: int | None = None):
        """Every example of a finite split, in order, as device batches."""
        if self.datasets is None or split not in self.datasets:
            known = sorted(self.datasets) if self.datasets else []
            raise KeyError(f"no finite split {split!r}; splits: {known}")
        data, bs = self.datasets[split], batch_size or self.cfg.batch_size
        for i in range(0, len(data), bs):
            yield _to_device(self.collate_fn([data[j] for j in range(i, min(i + bs, len(data)))]), self.rt.device)

    def _loss(self, net, batch):
        return self.loss_fn(net, *(batch if isinstance(batch, tuple) else (batch,)))

    # ---------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, split: str | None = None, *, metrics: dict | None = None,
                 iters: int | None = None) -> dict[str, float]:
        """Loss (and metrics) on a split.

        ``evaluate()`` → ``{"train": loss, "val": loss}``: what :meth:`fit` records, each over
        ``cfg.eval_iters`` fixed batches (finite datasets: the validation split whole, and as many
        training batches). ``evaluate("test", metrics={"accuracy": accuracy_score})`` →
        ``{"loss": ..., "accuracy": ...}``: a finite split read once in order (a stream split over
        ``iters`` fixed batches); each metric is ``fn(labels, predictions)`` on the argmax
        predictions, with scikit-learn's signature. Averaged across DDP ranks.
        """
        if split is None:
            if metrics:
                raise ValueError("metrics need a split: evaluate('validation', metrics=...)")
            if self.datasets is None:
                return {s: self._split_loss(s, iters)["loss"] for s in ("train", "val")}
            train_iters = iters or self.cfg.eval_iters
            return {"train": self._split_loss("train", train_iters, finite_cap=True)["loss"],
                    "val": self._split_loss(self.val_split, None)["loss"]}
        return self._split_loss(split, iters, metrics=metrics)

    def _split_loss(self, split, iters, metrics=None, finite_cap=False):
        self.model.eval()
        total = torch.zeros((), device=self.rt.device)
        labels, preds = [], []
        n = 0
        if self.datasets is not None:
            source = self.batches(split)
            if finite_cap:
                source = (b for b, _ in zip(source, range(iters)))
        else:
            gen = torch.Generator().manual_seed(10_000 + self.cfg.seed + self.rank)
            source = (self.batch_fn(split, gen) for _ in range(iters or self.cfg.eval_iters))
        for batch in source:
            with self.rt.autocast():
                if metrics:
                    args = batch if isinstance(batch, tuple) else (batch,)
                    output = self.model(**args[0]) if isinstance(args[0], dict) else self.model(*args)
                    loss = output.loss
                    y, p = _labels_and_predictions(batch, output)
                    labels += y
                    preds += p
                else:
                    loss = self._loss(self.model, batch)
            total += loss.float()
            n += 1
        if n == 0:
            raise ValueError(f"split {split!r} has no examples")
        mean = total / n
        if self.world > 1:
            dist.all_reduce(mean)
            mean /= self.world
        out = {"loss": float(mean)}
        for name, fn in (metrics or {}).items():
            out[name] = float(fn(labels, preds))
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
        order = list(self._order)
        try:
            return self._train_step()
        except Exception as e:  # noqa: BLE001 - any compiler failure falls back to eager mode
            warnings.warn(f"torch.compile failed at the first step ({type(e).__name__}: "
                          f"{str(e).splitlines()[0][:200] if str(e) else ''}); training without it")
            self.optimizer.zero_grad(set_to_none=True)
            self.gen.set_state(batch_state)
            self._order = order
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
            g["lr"] = lr * g.get("lr_scale", 1.0)
        total = None
        tokens = 0
        for micro in range(cfg.grad_accum):
            batch = self.batch_fn("train", self.gen)
            tokens += batch_tokens(batch)
            sync = micro == cfg.grad_accum - 1
            ctx = self.net.no_sync() if (self.world > 1 and not sync) else contextlib.nullcontext()
            with ctx:
                with self.rt.autocast():
                    loss = self._loss(self.net, batch)
                    if cfg.grad_accum > 1:
                        loss = loss / cfg.grad_accum
                self.scaler.scale(loss).backward()
            # No .item() here: reading the loss would make the CPU wait for the GPU every step.
            total = loss.detach().float() if total is None else total + loss.detach().float()
        if cfg.grad_clip:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.history.tokens_seen += tokens * self.world
        _count_training_flops(self.model, tokens * self.world)
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

    def resume(self, path) -> bool:
        """Continue the run saved at ``path`` if that file exists; True if it did."""
        if path and os.path.exists(path):
            self.load(path)
            return True
        return False

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
    if settings.no_compile():
        warnings.warn("GPTLIB_NO_COMPILE is set; training without torch.compile")
        return model
    try:
        return torch.compile(model)
    except Exception as e:  # noqa: BLE001 - e.g. unsupported Python version or platform
        warnings.warn(f"torch.compile unavailable ({e}); training without it")
        return model
