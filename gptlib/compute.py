"""Training compute: FLOPs from parameters and tokens, then hours and cost on an accelerator.

The estimate every chapter uses is Kaplan et al.'s (2020): training a dense Transformer with N
parameters on D tokens costs about ``6·N·D`` floating-point operations (2·N per token for the
forward pass, twice that for the backward pass; attention over the context is left out). An
accelerator with a datasheet peak of P FLOP/s, kept busy at a fraction u of it (the *model FLOPs
utilisation*), then needs ``6·N·D / (u·P)`` seconds; n of them in parallel need 1/n of that, and
the cost is device-hours × a price per device-hour that the caller supplies.

``ACCELERATORS`` holds a few published peaks, each with the document it comes from. They are
dense (no structured sparsity) tensor-core / matrix-unit peaks at 16-bit precision, the precision
large models are trained in; a real run reaches only a fraction of them.
"""
from __future__ import annotations

from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0
PF_DAY = 1e15 * 86400.0        # one petaFLOP/s for a day, the unit of the GPT-3 paper's Table D.1


@dataclass(frozen=True)
class Accelerator:
    name: str
    peak_flops: float          # FLOP/s, dense, at ``precision``
    precision: str
    source: str                # where the number is published


ACCELERATORS: dict[str, Accelerator] = {
    a.name: a for a in (
        Accelerator("V100", 125e12, "fp16 tensor core",
                    "NVIDIA Tesla V100 GPU datasheet (SXM2): 125 TFLOPS deep learning"),
        Accelerator("A100", 312e12, "bf16/fp16 tensor core",
                    "NVIDIA A100 Tensor Core GPU datasheet: 312 TFLOPS BF16 (624 with sparsity)"),
        Accelerator("H100", 989e12, "bf16/fp16 tensor core",
                    "NVIDIA H100 Tensor Core GPU datasheet (SXM): 1,979 TFLOPS BF16 with "
                    "sparsity, i.e. 989 dense"),
        Accelerator("TPU v3", 123e12, "bf16",
                    "Google Cloud TPU documentation, system architecture: 123 TFLOPS per v3 chip"),
        Accelerator("TPU v4", 275e12, "bf16",
                    "Google Cloud TPU documentation, TPU v4: 275 TFLOPS per chip"),
    )
}


def training_flops(n_params: float, n_tokens: float, flops_per_param_token: float = 6.0) -> float:
    """FLOPs to train ``n_params`` parameters on ``n_tokens`` tokens: ≈ 6·N·D."""
    if n_params < 0 or n_tokens < 0:
        raise ValueError("n_params and n_tokens must be non-negative")
    return flops_per_param_token * float(n_params) * float(n_tokens)


def training_time(flops: float, peak_flops: float, utilisation: float, n_devices: int = 1) -> float:
    """Seconds to do ``flops`` on ``n_devices`` accelerators of ``peak_flops`` FLOP/s each, each
    busy at ``utilisation`` (0 < u ≤ 1) of its peak: flops / (n · u · peak)."""
    if not 0 < utilisation <= 1:
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation}")
    if peak_flops <= 0 or n_devices < 1:
        raise ValueError("peak_flops must be positive and n_devices at least 1")
    return float(flops) / (n_devices * utilisation * peak_flops)


def training_cost(seconds: float, price_per_device_hour: float, n_devices: int = 1) -> float:
    """Cost of ``n_devices`` accelerators for ``seconds`` at ``price_per_device_hour`` each."""
    return seconds / SECONDS_PER_HOUR * n_devices * price_per_device_hour


def achieved_flops(flops: float, seconds: float) -> float:
    """The FLOP/s a run actually sustained: its FLOPs over its wall time."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    return float(flops) / seconds


def estimate(n_params: float, n_tokens: float, peak_flops: float, utilisation: float,
             n_devices: int = 1, price_per_device_hour: float | None = None) -> dict:
    """The whole calculation in one dict: flops, pf_days, seconds, hours (wall clock),
    device_hours and, when a price is given, cost."""
    flops = training_flops(n_params, n_tokens)
    seconds = training_time(flops, peak_flops, utilisation, n_devices)
    out = {"flops": flops, "pf_days": flops / PF_DAY, "seconds": seconds,
           "hours": seconds / SECONDS_PER_HOUR,
           "device_hours": seconds / SECONDS_PER_HOUR * n_devices}
    if price_per_device_hour is not None:
        out["cost"] = training_cost(seconds, price_per_device_hour, n_devices)
    return out
