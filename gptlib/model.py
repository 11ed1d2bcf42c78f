"""A decoder-only GPT, in the spirit of nanoGPT's ``model.py``, with switches the book ablates.

``GPTConfig`` chooses the positional encoding (``learned``, ``sinusoidal``, ``rope``, ``none``),
the normalisation (``layernorm``, ``rmsnorm``, ``none``) and where it sits (``pre``: GPT-2 onward,
``post``: the original Transformer), weight tying and dropout.

Training uses ``F.scaled_dot_product_attention`` (one fused kernel). Pass ``return_attn=True``
and the same weights run the explicit softmax(QKᵀ/√d_k)V path and also return every layer's
per-head attention matrix; the outputs agree (see ``tests/test_model.py``).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import reference as ref

POSITIONS = ("learned", "sinusoidal", "rope", "none")
NORMS = ("layernorm", "rmsnorm", "none")
PLACEMENTS = ("pre", "post")
GELUS = ("tanh", "exact")


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64          # context length: the most tokens the model sees at once
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False            # biases in Linear and LayerNorm (GPT-2 had them)
    pos: str = "learned"
    norm: str = "layernorm"
    norm_placement: str = "pre"
    tie_weights: bool = True      # output head shares the token-embedding matrix
    mlp_ratio: int = 4
    gelu: str = "tanh"            # GPT-2's tanh approximation, or "exact" x·Φ(x) (nanoGPT, BERT)

    def __post_init__(self):
        if self.pos not in POSITIONS:
            raise ValueError(f"pos must be one of {POSITIONS}, got {self.pos!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.norm_placement not in PLACEMENTS:
            raise ValueError(f"norm_placement must be one of {PLACEMENTS}, got {self.norm_placement!r}")
        if self.gelu not in GELUS:
            raise ValueError(f"gelu must be one of {GELUS}, got {self.gelu!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.pos in ("rope", "sinusoidal") and (self.n_embd // self.n_head) % 2:
            raise ValueError("RoPE and sinusoidal encodings need an even head/embedding dimension")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown GPTConfig fields {sorted(unknown)}")
        return cls(**d)

    def key(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def make_norm(cfg: GPTConfig) -> nn.Module:
    if cfg.norm == "layernorm":
        return nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
    if cfg.norm == "rmsnorm":
        return nn.RMSNorm(cfg.n_embd, eps=1e-6)
    return nn.Identity()


class KVCache:
    """Keys and values of the tokens seen so far, one (k, v) pair per layer: (B, nh, T_past, hs)."""

    def __init__(self, n_layer: int):
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    @property
    def length(self) -> int:
        """Tokens cached so far (read before a forward pass; the last layer is updated last)."""
        return self.past(len(self.layers) - 1)

    def past(self, layer: int) -> int:
        kv = self.layers[layer]
        return 0 if kv is None else kv[0].size(2)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        past = self.layers[layer]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        self.layers[layer] = (k, v)
        return k, v


def _cpu_autocast_enabled() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def fused_attention(q, k, v, **kwargs):
    """``F.scaled_dot_product_attention(q, k, v, **kwargs)``; on a CPU under autocast it runs in fp32.

    CPU autocast would run it in bf16, but without AMX tiles the CPU's bf16 flash-attention kernels
    (the backward above all) are several times slower than its fp32 ones, while the matmuls around
    it do gain from bf16. Measured in the pretraining chapter and ``python -m gptlib.bench``.
    """
    if q.device.type == "cpu" and _cpu_autocast_enabled():
        with torch.autocast("cpu", enabled=False):
            y = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), **kwargs)
        return y.to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, **kwargs)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)   # Q, K, V in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, rope=None, cache: KVCache | None = None, layer: int = 0,
                return_attn: bool = False):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (ref.split_heads(t, self.n_head) for t in (q, k, v))   # (B, nh, T, hs)
        if rope is not None:
            cos, sin = rope
            q, k = ref.apply_rope(q, cos, sin), ref.apply_rope(k, cos, sin)
        past = cache.past(layer) if cache is not None else 0
        if cache is not None:
            k, v = cache.update(layer, k, v)                                # (B, nh, past+T, hs)
        Tk = k.size(2)
        # Query i (absolute position past+i) may see keys 0..past+i.
        mask = None
        if past > 0 and T > 1:
            mask = torch.ones(T, Tk, dtype=torch.bool, device=x.device).tril(diagonal=past)
        weights = None
        if return_attn:
            if mask is None:
                mask = torch.ones(T, Tk, dtype=torch.bool, device=x.device).tril(diagonal=Tk - T)
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))   # (B, nh, T, Tk)
            scores = scores.masked_fill(~mask, float("-inf"))
            weights = F.softmax(scores.float(), dim=-1).to(q.dtype)
            y = self.attn_dropout(weights) @ v                                  # (B, nh, T, hs)
        else:
            p = self.cfg.dropout if self.training else 0.0
            if mask is None:
                y = fused_attention(q, k, v, dropout_p=p, is_causal=T > 1)
            else:
                y = fused_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = self.resid_dropout(self.c_proj(ref.merge_heads(y)))
        return y, weights


class MLP(nn.Module):
    """Position-wise feed-forward: Linear(d, 4d) → GELU → Linear(4d, d)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        hidden = cfg.mlp_ratio * cfg.n_embd
        self.c_fc = nn.Linear(cfg.n_embd, hidden, bias=cfg.bias)
        self.gelu = nn.GELU(approximate="tanh" if cfg.gelu == "tanh" else "none")
        self.c_proj = nn.Linear(hidden, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """pre-LN:  x = x + attn(ln1(x));  x = x + mlp(ln2(x))
    post-LN: x = ln1(x + attn(x));    x = ln2(x + mlp(x))"""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.pre = cfg.norm_placement == "pre"
        self.ln_1 = make_norm(cfg)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = make_norm(cfg)
        self.mlp = MLP(cfg)

    def forward(self, x, rope=None, cache=None, layer=0, return_attn=False):
        if self.pre:
            a, w = self.attn(self.ln_1(x), rope, cache, layer, return_attn)
            x = x + a
            x = x + self.mlp(self.ln_2(x))
        else:
            a, w = self.attn(x, rope, cache, layer, return_attn)
            x = self.ln_1(x + a)
            x = self.ln_2(x + self.mlp(x))
        return x, w


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)                 # token embeddings E
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.pos == "learned" else None
        if cfg.pos == "sinusoidal":
            self.register_buffer("pe", ref.sinusoidal_encoding(cfg.block_size, cfg.n_embd), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = make_norm(cfg) if cfg.norm_placement == "pre" else nn.Identity()
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/√(2·n_layer) so the residual stream's variance
        # does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    # ----------------------------------------------------------------------------------- forward
    def _check_input(self, idx: torch.Tensor, past: int):
        if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
            shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
            raise ValueError(f"GPT expects token ids of shape (batch, time), got {shape}; "
                             "add a batch dimension with ids.unsqueeze(0)")
        if idx.dtype not in (torch.long, torch.int32, torch.int64):
            raise TypeError(f"GPT expects integer token ids (torch.long), got {idx.dtype}; "
                            "encode text with a tokenizer first")
        T = idx.size(1)
        if past + T > self.config.block_size:
            raise ValueError(f"sequence of {past + T} tokens exceeds the model's context "
                             f"(block_size={self.config.block_size}); crop it to the last "
                             f"{self.config.block_size} tokens")

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, *,
                return_attn: bool = False, cache: KVCache | None = None):
        """idx (B, T) → logits (B, T, V) and the mean next-token cross-entropy if targets given.

        Returns ``(logits, loss)``, or ``(logits, loss, attn)`` with ``return_attn=True`` where
        ``attn`` is a list (one per layer) of (B, n_head, T, T_keys) weights.
        """
        past = cache.length if cache is not None else 0
        self._check_input(idx, past)
        B, T = idx.shape
        x = self.wte(idx)                                                    # (B, T, C)
        rope = None
        if self.config.pos == "learned":
            x = x + self.wpe(torch.arange(past, past + T, device=idx.device))
        elif self.config.pos == "sinusoidal":
            x = x + self.pe[past:past + T]
        elif self.config.pos == "rope":
            cos, sin = ref.rope_angles(T, self.config.head_dim, offset=past)
            rope = (cos.to(idx.device), sin.to(idx.device))
        x = self.drop(x)
        attns = []
        for i, block in enumerate(self.blocks):
            x, w = block(x, rope, cache, i, return_attn)
            attns.append(w)
        x = self.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets shape {tuple(targets.shape)} must equal input shape "
                                 f"{tuple(idx.shape)} (the input shifted left by one token)")
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1),
                                   ignore_index=-100)
        if return_attn:
            return logits, loss, attns
        return logits, loss

    @torch.no_grad()
    def attention_weights(self, idx: torch.Tensor) -> torch.Tensor:
        """All attention weights for one sequence: (n_layer, n_head, T, T) on the CPU, in float32."""
        was_training = self.training
        self.eval()
        _, _, attns = self(idx.view(1, -1), return_attn=True)
        self.train(was_training)
        return torch.stack([a[0].float().cpu() for a in attns])

    # -------------------------------------------------------------------------------- accounting
    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count (tied weights counted once). ``non_embedding`` drops position and token
        embeddings, as Kaplan et al. do for scaling laws."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            if self.wpe is not None:
                n -= self.wpe.weight.numel()
            n -= self.wte.weight.numel()
        return n

    def flops_per_token(self, training: bool = True) -> float:
        """FLOPs to process one token: forward ≈ 2N + 4·n_layer·T·C (QKᵀ and weights·V)
        where N counts non-embedding parameters plus the output head; training ≈ 3× forward."""
        cfg = self.config
        n = self.num_params(non_embedding=True)
        if not cfg.tie_weights:
            n -= self.lm_head.weight.numel()
        n += cfg.vocab_size * cfg.n_embd                       # the output projection
        forward = 2 * n + 4 * cfg.n_layer * cfg.block_size * cfg.n_embd
        return 3 * forward if training else forward


def count_params(cfg: GPTConfig) -> dict[str, int]:
    """Parameters per component computed from a config alone (no model built)."""
    C, V, L, T = cfg.n_embd, cfg.vocab_size, cfg.n_layer, cfg.block_size
    b = 1 if cfg.bias else 0
    norm = {"layernorm": C * (1 + b), "rmsnorm": C, "none": 0}[cfg.norm]
    hidden = cfg.mlp_ratio * C
    per_block = {
        "attention": C * 3 * C + 3 * C * b + C * C + C * b,
        "mlp": C * hidden + hidden * b + hidden * C + C * b,
        "norms": 2 * norm,
    }
    out = {
        "token_embedding": V * C,
        "position_embedding": T * C if cfg.pos == "learned" else 0,
        "attention": L * per_block["attention"],
        "mlp": L * per_block["mlp"],
        "norms": L * per_block["norms"] + (norm if cfg.norm_placement == "pre" else 0),
        "lm_head": 0 if cfg.tie_weights else V * C,
    }
    out["total"] = sum(out.values())
    return out
