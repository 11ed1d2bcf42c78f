"""Language-model batches from one long token stream: a train/validation cut and random windows."""
from __future__ import annotations

import torch


def train_val_split(ids, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """First (1 − val_fraction) of the token stream for training, the rest for validation."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    ids = torch.as_tensor(ids, dtype=torch.long)
    n = int(len(ids) * (1 - val_fraction))
    return ids[:n], ids[n:]


def get_batch(data: torch.Tensor, block_size: int, batch_size: int, device="cpu",
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of ``block_size`` tokens: x = data[i:i+T], y = data[i+1:i+T+1] (next tokens)."""
    if len(data) <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens to make a batch, got {len(data)}")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[ix[:, None] + offsets]
    y = data[ix[:, None] + offsets + 1]
    device = torch.device(device)
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.to(device), y.to(device)
