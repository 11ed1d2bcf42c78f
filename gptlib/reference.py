"""Teaching references: each formula of the book as a few lines of plain PyTorch.

These are written for reading, not speed. The model in :mod:`gptlib.model` uses the fused
kernels; the tests check that both agree with each other and with ``torch.nn.functional``.
"""
from __future__ import annotations

import math

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x)  (shifted for stability)."""
    z = x - x.amax(dim=dim, keepdim=True)
    e = z.exp()
    return e / e.sum(dim=dim, keepdim=True)


def causal_mask(T: int, device=None) -> torch.Tensor:
    """Boolean (T, T) mask, True where query i may attend to key j, i.e. j <= i."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V.

    q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v); mask: bool, broadcastable to
    (..., T_q, T_k), True = may attend. Returns (output (..., T_q, d_v), weights (..., T_q, T_k)).
    """
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)       # (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)
    return weights @ v, weights


def split_heads(x: torch.Tensor, n_head: int) -> torch.Tensor:
    """(B, T, C) -> (B, n_head, T, C // n_head)."""
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, n_head, T, hs) -> (B, T, n_head * hs)."""
    B, H, T, hs = x.shape
    return x.transpose(1, 2).reshape(B, T, H * hs)


def sinusoidal_encoding(T: int, d: int, base: float = 10000.0) -> torch.Tensor:
    """PE(pos, 2i) = sin(pos / base^(2i/d)),  PE(pos, 2i+1) = cos(pos / base^(2i/d)).  Shape (T, d)."""
    if d % 2:
        raise ValueError(f"sinusoidal encoding needs an even dimension, got d={d}")
    pos = torch.arange(T, dtype=torch.float32)[:, None]            # (T, 1)
    two_i = torch.arange(0, d, 2, dtype=torch.float32)[None, :]    # (1, d/2)
    angle = pos / base ** (two_i / d)                               # (T, d/2)
    pe = torch.zeros(T, d)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


def rope_angles(T: int, head_dim: int, base: float = 10000.0, offset: int = 0,
                positions: torch.Tensor | None = None):
    """cos and sin tables for rotary embeddings: θ_i = base^(-2i/d), angle = pos · θ_i.

    Positions are ``offset .. offset+T-1`` (tables of shape (T, d/2)), or the given ``positions``
    tensor of any shape (...,) for per-row positions, e.g. left-padded batches (tables (..., d/2)).
    """
    if head_dim % 2:
        raise ValueError(f"RoPE needs an even head dimension, got {head_dim}")
    theta = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    if positions is None:
        pos = torch.arange(offset, offset + T, dtype=torch.float32)
    else:
        pos = positions.float()
        theta = theta.to(pos.device)
    angle = pos[..., None] * theta
    return angle.cos(), angle.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x_{2i}, x_{2i+1}) by its angle: a position-dependent 2-D rotation.

    x: (..., T, d); cos, sin: (T, d/2). Because rotations compose, q_m·k_n depends on m - n only.
    """
    x1, x2 = x[..., 0::2], x[..., 1::2]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


def layer_norm(x: torch.Tensor, gamma: torch.Tensor | None = None, beta: torch.Tensor | None = None,
               eps: float = 1e-5) -> torch.Tensor:
    """y = (x − μ) / √(σ² + ε) · γ + β, with μ, σ² over the last dimension (biased variance)."""
    mu = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    y = (x - mu) / torch.sqrt(var + eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def rms_norm(x: torch.Tensor, gamma: torch.Tensor | None = None, eps: float = 1e-6) -> torch.Tensor:
    """y = x / √(mean(x²) + ε) · γ  (no centring, no bias)."""
    y = x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)
    return y * gamma if gamma is not None else y


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """GELU(x) = x·Φ(x); ``approximate="tanh"`` is GPT-2's 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate == "tanh":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """L = −(1/N) Σ_i log P(x_i | x_<i): the mean negative log-likelihood of each next token.

    logits: (B, T, V) scores for the token after each position; targets: (B, T) the true next tokens.
    """
    log_probs = logits.float().log_softmax(dim=-1)
    picked = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)   # log P(x_i | x_<i)
    return -picked.mean()


def perplexity(mean_nll: float | torch.Tensor) -> float:
    """Perplexity = exp(mean negative log-likelihood per token)."""
    return float(math.exp(float(mean_nll)))
