"""A decoder-only GPT, in the spirit of nanoGPT's ``model.py``, with switches the book ablates.

``GPTConfig`` chooses the positional encoding (``learned``, ``sinusoidal``, ``rope``, ``none``),
the normalisation (``layernorm``, ``rmsnorm``, ``none``) and where it sits (``pre``: GPT-2 onward,
``post``: the original Transformer), weight tying and dropout.

Training uses ``F.scaled_dot_product_attention`` (one fused kernel). Pass ``return_attn=True``
and the same weights run the explicit softmax(QKᵀ/√d_k)V path and also return every layer's
per-head attention matrix; the outputs agree (see ``tests/test_model.py``).

``GPT.trunk`` (embeddings → blocks → final norm) gives the hidden states; ``GPT.forward`` adds
the tied LM head. Both take token ids or ``inputs_embeds``, a padding ``attention_mask`` and
``position_ids``, and return one type, :class:`ModelOutput`. The classification heads that read
the trunk live in :mod:`gptlib.heads`.
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
    mlp_ratio: int = 4            # MLP width / n_embd; 0 = attention-only blocks (no MLP, no ln_2)
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
        if not isinstance(self.mlp_ratio, int) or self.mlp_ratio < 0:
            raise ValueError(f"mlp_ratio must be an int ≥ 0 (0: attention-only), got {self.mlp_ratio!r}")
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


@dataclass
class ModelOutput:
    """What every model and head in gptlib returns (one type, whatever was asked for).

    ``logits``: (B, T, V) next-token scores for the LM; (B, K) for a sequence classifier;
    (B, T, K) for a token classifier. ``loss``: the mean cross-entropy when targets/labels were
    given (positions labelled ``-100`` ignored), else None. ``hidden_states``: the trunk's last
    hidden states (B, T, C), after the final norm. ``attentions``: with ``return_attn=True``, a
    list (one per layer) of (B, n_head, T, T_keys) weights, else None.
    """
    logits: torch.Tensor | None = None
    loss: torch.Tensor | None = None
    hidden_states: torch.Tensor | None = None
    attentions: list | None = None


class KVCache:
    """Keys and values of the tokens seen so far, preallocated: (n_layer, B, n_head, max_len, hs).

    The buffers are allocated at the first update (shape, dtype and device from the keys) and
    written in place; each layer reads back the first ``length + T`` positions. The model calls
    :meth:`advance` once all layers have stored the new tokens. All rows share one length: batches
    of unequal prompts are left-padded (see :mod:`gptlib.generation`), with the padding masked.
    """

    def __init__(self, n_layer: int, max_len: int | None = None):
        if n_layer < 1:
            raise ValueError(f"n_layer must be ≥ 1, got {n_layer}")
        self.n_layer = n_layer
        self.max_len = max_len          # None: the model's block_size, set at the first forward
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None
        self.length = 0                 # tokens cached so far

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        """Store this layer's new keys/values (B, nh, T, hs); return all cached ones (B, nh, length+T, hs)."""
        B, H, T, D = k.shape
        if self.k is None:
            cap = self.max_len or T
            self.k = k.new_zeros(self.n_layer, B, H, cap, D)
            self.v = v.new_zeros(self.n_layer, B, H, cap, D)
        end = self.length + T
        if end > self.k.size(3):
            raise ValueError(f"the KV cache holds {self.k.size(3)} positions and {end} were asked for; "
                             "start a new cache (generation slides its window and does this for you)")
        if self.k.size(1) != B:
            raise ValueError(f"this cache was made for a batch of {self.k.size(1)} rows, got {B}")
        self.k[layer, :, :, self.length:end] = k
        self.v[layer, :, :, self.length:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def advance(self, T: int) -> None:
        self.length += T


@dataclass
class AttentionContext:
    """What every attention layer of one forward pass shares.

    ``rope``: (cos, sin) tables; ``mask``: bool (B, 1, T, T_keys), True = may attend, or None for
    the plain causal mask; ``cache``: a :class:`KVCache` or None; ``return_attn``: run the explicit
    softmax path and return the weights.
    """
    rope: tuple | None = None
    mask: torch.Tensor | None = None
    cache: KVCache | None = None
    return_attn: bool = False


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
    def __init__(self, cfg: GPTConfig, layer_idx: int = 0):
        super().__init__()
        self.cfg = cfg
        self.layer_idx = layer_idx      # which slot of a KV cache this layer uses
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)   # Q, K, V in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, ctx: AttentionContext | None = None, return_attn: bool = False):
        """x (B, T, C) → (output (B, T, C), weights (B, nh, T, T_keys) or None).

        Called alone, ``attn(x, return_attn=True)`` is enough; inside a GPT the model passes the
        shared :class:`AttentionContext` (mask, positions, cache)."""
        ctx = ctx or AttentionContext(return_attn=return_attn)
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (ref.split_heads(t, self.n_head) for t in (q, k, v))   # (B, nh, T, hs)
        if ctx.rope is not None:
            cos, sin = ctx.rope
            q, k = ref.apply_rope(q, cos, sin), ref.apply_rope(k, cos, sin)
        past = 0
        if ctx.cache is not None:
            past = ctx.cache.length
            k, v = ctx.cache.update(self.layer_idx, k, v)                   # (B, nh, past+T, hs)
        Tk = k.size(2)
        # Query i (absolute position past+i) may see keys 0..past+i (and, with a padding mask,
        # only the real ones).
        mask = ctx.mask
        if mask is None and past > 0 and T > 1:
            mask = torch.ones(T, Tk, dtype=torch.bool, device=x.device).tril(diagonal=past)
        weights = None
        if ctx.return_attn:
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
    post-LN: x = ln1(x + attn(x));    x = ln2(x + mlp(x))
    With ``mlp_ratio=0`` the block is attention only (the MLP half and ln_2 are absent)."""

    def __init__(self, cfg: GPTConfig, layer_idx: int = 0):
        super().__init__()
        self.pre = cfg.norm_placement == "pre"
        self.ln_1 = make_norm(cfg)
        self.attn = CausalSelfAttention(cfg, layer_idx)
        self.ln_2 = make_norm(cfg) if cfg.mlp_ratio else None
        self.mlp = MLP(cfg) if cfg.mlp_ratio else None

    def forward(self, x, ctx: AttentionContext | None = None):
        if self.pre:
            a, w = self.attn(self.ln_1(x), ctx)
            x = x + a
            if self.mlp is not None:
                x = x + self.mlp(self.ln_2(x))
        else:
            a, w = self.attn(x, ctx)
            x = self.ln_1(x + a)
            if self.mlp is not None:
                x = self.ln_2(x + self.mlp(x))
        return x, w


def padding_attention_mask(attention_mask: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T_keys) with 1 = real token, 0 = padding → bool (B, 1, T, T_keys) for the last T queries.

    Query i may attend key j when j is at or before it (causal) and j is a real token. A padding
    query (left padding) has no real key before it; it may attend to itself, so its softmax stays
    finite. Its output is never used.
    """
    B, Tk = attention_mask.shape
    past = Tk - T
    dev = attention_mask.device
    causal = torch.ones(T, Tk, dtype=torch.bool, device=dev).tril(diagonal=past)
    allowed = causal & attention_mask.bool()[:, None, None, :]
    self_key = torch.zeros(T, Tk, dtype=torch.bool, device=dev)
    self_key[torch.arange(T, device=dev), past + torch.arange(T, device=dev)] = True
    return allowed | self_key


def positions_from_mask(attention_mask: torch.Tensor, T: int) -> torch.Tensor:
    """Position ids (B, T) of the last T tokens: each real token's index among the real tokens of
    its row, so a left-padded prompt gets the positions it would have alone."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -T:]


class GPT(nn.Module):
    """A decoder-only GPT: the trunk (embeddings → blocks → final norm) and the tied LM head.

    ``model.trunk(...)`` gives the hidden states that the heads in :mod:`gptlib.heads` read;
    ``model(...)`` adds the LM head and the next-token loss. Both take token ids *or* input
    embeddings, an optional padding mask and explicit position ids.
    """

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)                 # token embeddings E
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.pos == "learned" else None
        if cfg.pos == "sinusoidal":
            self.register_buffer("pe", ref.sinusoidal_encoding(cfg.block_size, cfg.n_embd), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layer))
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

    # ----------------------------------------------------------------------------- input checks
    def _check_inputs(self, input_ids, inputs_embeds, attention_mask, position_ids, past: int):
        cfg = self.config
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids (token ids, (batch, time)) and "
                             "inputs_embeds ((batch, time, n_embd) vectors)")
        if input_ids is not None:
            if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
                shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__
                raise ValueError(f"GPT expects token ids of shape (batch, time), got {shape}; "
                                 "add a batch dimension with ids.unsqueeze(0)")
            if input_ids.dtype not in (torch.long, torch.int32, torch.int64):
                raise TypeError(f"GPT expects integer token ids (torch.long), got {input_ids.dtype}; "
                                "encode text with a tokenizer first")
            if input_ids.numel() and input_ids.device.type != "meta" and not (self.training and input_ids.is_cuda):
                # (skipped while training on CUDA: reading the values would stall the GPU every step)
                lo, hi = int(input_ids.min()), int(input_ids.max())
                if lo < 0 or hi >= cfg.vocab_size:
                    bad = lo if lo < 0 else hi
                    raise ValueError(f"token id {bad} is outside this model's vocabulary 0..{cfg.vocab_size - 1}; "
                                     "encode with the tokenizer the model was built for (its vocab_size is "
                                     "the model's), and use a real token id as padding")
            B, T = input_ids.shape
        else:
            if not isinstance(inputs_embeds, torch.Tensor) or inputs_embeds.dim() != 3 \
                    or inputs_embeds.size(-1) != cfg.n_embd:
                shape = tuple(inputs_embeds.shape) if isinstance(inputs_embeds, torch.Tensor) else type(inputs_embeds).__name__
                raise ValueError(f"inputs_embeds must have shape (batch, time, n_embd={cfg.n_embd}), got {shape}")
            if not inputs_embeds.is_floating_point():
                raise TypeError(f"inputs_embeds must be floating point, got {inputs_embeds.dtype}; "
                                "pass token ids as input_ids instead")
            B, T = inputs_embeds.shape[:2]
        if T == 0:
            raise ValueError("the input has no tokens (time dimension 0); give at least one")
        if past + T > cfg.block_size:
            raise ValueError(f"sequence of {past + T} tokens exceeds the model's context "
                             f"(block_size={cfg.block_size}); crop it to the last "
                             f"{cfg.block_size} tokens")
        if attention_mask is not None:
            if not isinstance(attention_mask, torch.Tensor) or tuple(attention_mask.shape) != (B, past + T):
                shape = tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor) else type(attention_mask).__name__
                raise ValueError(f"attention_mask must have shape (batch, cached + new tokens) = {(B, past + T)}, "
                                 f"got {shape}; 1 marks a real token, 0 padding")
            if attention_mask.device.type != "meta" and ((attention_mask != 0) & (attention_mask != 1)).any():
                raise ValueError("attention_mask must hold only 0 (padding) and 1 (real token)")
        if position_ids is not None:
            if not isinstance(position_ids, torch.Tensor) or position_ids.shape[-1] != T \
                    or position_ids.dim() not in (1, 2) or (position_ids.dim() == 2 and position_ids.size(0) != B):
                shape = tuple(position_ids.shape) if isinstance(position_ids, torch.Tensor) else type(position_ids).__name__
                raise ValueError(f"position_ids must have shape (batch, time) = {(B, T)} or (time,), got {shape}")
            if position_ids.numel() and position_ids.device.type != "meta" and (int(position_ids.min()) < 0 or int(position_ids.max()) >= cfg.block_size):
                raise ValueError(f"position ids must lie in 0..{cfg.block_size - 1} (the context), got "
                                 f"{int(position_ids.min())}..{int(position_ids.max())}")
        return B, T

    # ------------------------------------------------------------------------------- the trunk
    def embed(self, input_ids=None, inputs_embeds=None, position_ids=None, past: int = 0):
        """Token embeddings (or the given vectors) plus the positional encoding; the RoPE tables.

        Returns ``(x (B, T, C), rope)`` where ``rope`` is None unless ``pos="rope"``.
        """
        x = self.wte(input_ids) if inputs_embeds is None else inputs_embeds          # (B, T, C)
        T = x.size(1)
        dev = x.device
        if position_ids is None:
            position_ids = torch.arange(past, past + T, device=dev)                  # (T,)
        rope = None
        if self.config.pos == "learned":
            x = x + self.wpe(position_ids)
        elif self.config.pos == "sinusoidal":
            x = x + self.pe[position_ids]
        elif self.config.pos == "rope":
            cos, sin = ref.rope_angles(T, self.config.head_dim, positions=position_ids.to(dev))
            if cos.dim() == 3:                       # per-row positions: (B, T, hs/2) → (B, 1, T, hs/2)
                cos, sin = cos[:, None], sin[:, None]
            rope = (cos, sin)
        return self.drop(x), rope

    def trunk(self, input_ids: torch.Tensor | None = None, *, inputs_embeds: torch.Tensor | None = None,
              attention_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
              cache: KVCache | None = None, return_attn: bool = False):
        """Hidden states (B, T, C) after the final norm, and the attention weights (or None).

        ``attention_mask`` (B, cached + T): 1 = real token, 0 = padding. Without ``position_ids``
        the positions follow the mask (a left-padded row gets the positions it would have alone),
        or count on from the cache. Returns ``(hidden, attentions)``.
        """
        past = cache.length if cache is not None else 0
        self._check_inputs(input_ids, inputs_embeds, attention_mask, position_ids, past)
        if cache is not None and cache.max_len is None:
            cache.max_len = self.config.block_size
        T = (input_ids if input_ids is not None else inputs_embeds).size(1)
        mask = None
        if attention_mask is not None:
            if position_ids is None:
                position_ids = positions_from_mask(attention_mask, T)
            if not bool(attention_mask.all()):
                mask = padding_attention_mask(attention_mask, T)
        x, rope = self.embed(input_ids, inputs_embeds, position_ids, past)
        ctx = AttentionContext(rope=rope, mask=mask, cache=cache, return_attn=return_attn)
        attns = []
        for block in self.blocks:
            x, w = block(x, ctx)
            attns.append(w)
        if cache is not None:
            cache.advance(T)
        return self.ln_f(x), (attns if return_attn else None)

    # --------------------------------------------------------------------------- the LM head
    def forward(self, input_ids: torch.Tensor | None = None, targets: torch.Tensor | None = None, *,
                inputs_embeds: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, cache: KVCache | None = None,
                return_attn: bool = False) -> ModelOutput:
        """Token ids (B, T) → :class:`ModelOutput` with logits (B, T, V), and the mean next-token
        cross-entropy as ``loss`` when ``targets`` (B, T) are given (``-100`` = not counted)."""
        hidden, attns = self.trunk(input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                                   position_ids=position_ids, cache=cache, return_attn=return_attn)
        logits = self.lm_head(hidden)
        loss = None
        if targets is not None:
            if targets.shape != hidden.shape[:2]:
                raise ValueError(f"targets shape {tuple(targets.shape)} must equal the input's (batch, time) "
                                 f"{tuple(hidden.shape[:2])} (the input shifted left by one token)")
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1),
                                   ignore_index=-100)
        return ModelOutput(logits=logits, loss=loss, hidden_states=hidden, attentions=attns)

    @torch.no_grad()
    def attention_weights(self, idx: torch.Tensor) -> torch.Tensor:
        """All attention weights for one sequence: (n_layer, n_head, T, T) on the CPU, in float32."""
        was_training = self.training
        self.eval()
        attns = self(idx.view(1, -1), return_attn=True).attentions
        self.train(was_training)
        return torch.stack([a[0].float().cpu() for a in attns])

    def new_cache(self) -> KVCache:
        """An empty KV cache for this model (sized to its context)."""
        return KVCache(self.config.n_layer, self.config.block_size)

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
        "mlp": C * hidden + hidden * b + hidden * C + C * b if hidden else 0,
        "norms": (2 if hidden else 1) * norm,
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
