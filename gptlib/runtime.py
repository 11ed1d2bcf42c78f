"""Where the book runs: device, precision, seeding and the size profile.

Every chapter starts with ``rt = gptlib.runtime.get_runtime()`` and prints ``rt.summary()``.
Sizes that depend on the machine come from ``rt.choose(gpu=..., cpu=..., smoke=...)`` so the same
notebook runs unchanged on a GPU, on a laptop CPU and in the test suite.

Profiles
--------
``gpu``    chosen when CUDA is available: full-size runs (minutes on a T4).
``cpu``    chosen otherwise: small models that finish in minutes on two cores.
``smoke``  forced by tests (``GPTLIB_PROFILE=smoke``): tiny sizes, seconds per chapter; the
           numbers it produces only show that the code runs, not what it can learn.

Precision policy (``precision="auto"``)
---------------------------------------
CUDA with bf16 support (Ampere and newer) -> bf16 autocast, no grad scaler.
CUDA without bf16 (e.g. a T4)              -> fp16 autocast with a ``GradScaler``.
MPS and CPU                                -> fp32. bf16 on CPU is opt-in (``precision="bf16"``):
                                              it pays only on CPUs with bf16 instructions
                                              (AVX512-BF16 or AMX, :func:`cpu_has_bf16_units`).
The book's training recipes opt in where it pays (``"bf16-if-native"`` in ``gptlib.zoo`` and
``gptlib.bench``): there the weights, optimiser state and loss stay fp32 and the matrix products
run in bf16; attention runs in fp32 (see :func:`gptlib.model.fused_attention`). Everything else,
inference and the chapters' numerical checks included, stays in the runtime's precision.
"""
from __future__ import annotations

import contextlib
import platform
import random
from dataclasses import dataclass

import numpy as np
import torch

from . import settings

PROFILES = ("gpu", "cpu", "smoke")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device() -> torch.device:
    """The best available device: cuda, then mps, then cpu (``GPTLIB_DEVICE`` overrides)."""
    forced = settings.device()
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_has_bf16_units() -> bool:
    """True when this CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(device: torch.device, precision: str = "auto") -> str:
    """Map ``auto`` to a concrete precision for ``device`` following the policy above."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        if precision == "fp16" and device.type == "cpu":
            # Allowed (CPU autocast supports fp16) so the T4 path can be exercised without a GPU.
            return "fp16"
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def detect_profile(device: torch.device | None = None) -> str:
    """``GPTLIB_PROFILE`` if set, else ``gpu`` on CUDA and ``cpu`` elsewhere."""
    forced = settings.profile()
    if forced:
        if forced not in PROFILES:
            raise ValueError(f"GPTLIB_PROFILE must be one of {PROFILES}, got {forced!r}")
        return forced
    device = device or pick_device()
    return "gpu" if device.type == "cuda" else "cpu"


def seed_everything(seed: int = 1337) -> None:
    """Seed Python, NumPy and torch (all devices) so a re-run gives the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class Runtime:
    profile: str
    device: torch.device
    precision: str  # concrete: fp32 | bf16 | fp16
    seed: int = 1337

    @property
    def dtype(self) -> torch.dtype:
        """The autocast dtype (float32 means no autocast)."""
        return _DTYPES[self.precision]

    @property
    def use_grad_scaler(self) -> bool:
        """fp16 needs loss scaling so small gradients do not underflow; bf16 and fp32 do not."""
        return self.precision == "fp16"

    def autocast(self):
        """Context manager for the forward pass under this runtime's precision."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler that is active only for fp16 (a no-op otherwise)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.use_grad_scaler)

    def choose(self, **by_profile):
        """Pick a value by profile: ``rt.choose(gpu=5000, cpu=600, smoke=20)``.

        A missing ``gpu`` falls back to ``cpu``; a missing ``smoke`` falls back to ``cpu`` too.
        """
        unknown = set(by_profile) - set(PROFILES)
        if unknown:
            raise ValueError(f"unknown profile(s) {sorted(unknown)}; use {PROFILES}")
        for name in (self.profile, "cpu", "gpu", "smoke"):
            if name in by_profile:
                return by_profile[name]
        raise ValueError("rt.choose() needs at least one of gpu=, cpu=, smoke=")

    @property
    def is_smoke(self) -> bool:
        return self.profile == "smoke"

    def summary(self) -> str:
        """One line for the top of a notebook."""
        if self.device.type == "cuda":
            where = torch.cuda.get_device_name(self.device)
        else:
            where = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
        return (f"gptlib runtime: profile={self.profile} device={self.device.type} ({where}) "
                f"precision={self.precision} torch={torch.__version__} seed={self.seed}")

    def __str__(self) -> str:
        return self.summary()


DEFAULT_SEED = 1337
_process_seed: int | None = None   # the seed the first get_runtime() call (or seed=) applied
_tf32_set = False


def get_runtime(profile: str | None = None, device: str | torch.device | None = None,
                precision: str | None = None, seed: int | None = None) -> Runtime:
    """Choose device, precision and profile, and return a :class:`Runtime`.

    Seeding happens once per process: the first call seeds Python, NumPy and torch with
    ``seed`` (default 1337); later calls leave the random number generators alone, so asking
    for a second runtime (another precision, the CPU) in the middle of a chapter does not rewind
    the random numbers. Pass ``seed=`` explicitly to reseed. The TF32 matmul flags are switched
    on the first time a CUDA runtime is made. ``GPTLIB_PRECISION`` overrides the precision when
    the argument is not given.
    """
    global _process_seed, _tf32_set
    device = torch.device(device) if device is not None else pick_device()
    profile = profile or detect_profile(device)
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    precision = resolve_precision(device, precision or settings.precision() or "auto")
    if device.type == "cuda" and not _tf32_set:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        _tf32_set = True
    if seed is not None or _process_seed is None:
        _process_seed = DEFAULT_SEED if seed is None else seed
        seed_everything(_process_seed)
    return Runtime(profile=profile, device=device, precision=precision, seed=_process_seed)
