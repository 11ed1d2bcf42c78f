"""Task heads on a GPT's trunk: small modules that read the hidden states and add one Linear.

* :class:`SequenceClassifier`: one label per text, read from the **last real token**: causal
  attention means only the last position has seen the whole text. With padding, that is the last
  position whose ``attention_mask`` is 1 (right padding) or the final column (left padding), as
  Hugging Face's ``GPT2ForSequenceClassification`` does with its pad token.
* :class:`TokenClassifier`: one label per token (named-entity recognition), like
  ``GPT2ForTokenClassification``.

The LM head itself is part of :class:`gptlib.model.GPT` (tied to the token embeddings). Each head
keeps the GPT as ``.backbone``; freeze it (``requires_grad_(False)``) for a linear probe, or wrap
its Linears with :mod:`gptlib.lora`. Both return :class:`gptlib.model.ModelOutput`.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import GPT, ModelOutput


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) mask with 1 = real token → (B,) index of each row's last real token."""
    if attention_mask.dim() != 2:
        raise ValueError(f"attention_mask must be (batch, time), got {tuple(attention_mask.shape)}")
    T = attention_mask.size(1)
    real = attention_mask.bool()
    if not bool(real.any(-1).all()):
        raise ValueError("a row of attention_mask has no real token (all zeros); every text needs ≥ 1 token")
    return T - 1 - real.flip(-1).int().argmax(-1)


def _check_backbone(backbone) -> None:
    if not isinstance(backbone, GPT):
        raise TypeError(f"the backbone must be a gptlib.GPT, got {type(backbone).__name__}; "
                        "load one with gptlib.zoo or gptlib.pretrained.load_gpt2")


def _check_classes(n: int, what: str) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"{what} must be an int ≥ 2, got {n!r}")


class SequenceClassifier(nn.Module):
    """GPT trunk → hidden state of the last real token → ``score`` Linear(C, num_classes)."""

    def __init__(self, backbone: GPT, num_classes: int, dropout: float = 0.0):
        super().__init__()
        _check_backbone(backbone)
        _check_classes(num_classes, "num_classes")
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(backbone.config.n_embd, num_classes, bias=False)   # as in transformers
        nn.init.normal_(self.score.weight, std=0.02)

    def forward(self, input_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None, *,
                attention_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, return_attn: bool = False) -> ModelOutput:
        """Token ids (B, T) → logits (B, num_classes); ``loss`` = cross-entropy when ``labels`` (B,)."""
        hidden, attns = self.backbone.trunk(input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                                            position_ids=position_ids, return_attn=return_attn)
        B, T, _ = hidden.shape
        if attention_mask is None:
            last = torch.full((B,), T - 1, device=hidden.device, dtype=torch.long)
        else:
            last = last_token_index(attention_mask).to(hidden.device)
        pooled = hidden[torch.arange(B, device=hidden.device), last]               # (B, C)
        logits = self.score(self.dropout(pooled))
        loss = None
        if labels is not None:
            if labels.shape != (B,):
                raise ValueError(f"labels must have shape (batch,) = ({B},), got {tuple(labels.shape)}")
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
                raise ValueError(f"labels must lie in 0..{self.num_classes - 1}, got "
                                 f"{int(labels.min())}..{int(labels.max())}")
            loss = F.cross_entropy(logits.float(), labels)
        return ModelOutput(logits=logits, loss=loss, hidden_states=hidden, attentions=attns)


class TokenClassifier(nn.Module):
    """GPT trunk → every position's hidden state → ``classifier`` Linear(C, num_labels)."""

    def __init__(self, backbone: GPT, num_labels: int, dropout: float = 0.1):
        super().__init__()
        _check_backbone(backbone)
        _check_classes(num_labels, "num_labels")
        self.backbone = backbone
        self.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(backbone.config.n_embd, num_labels)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None, *,
                attention_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, return_attn: bool = False) -> ModelOutput:
        """Token ids (B, T) → logits (B, T, num_labels); ``labels`` (B, T) with -100 = not scored."""
        hidden, attns = self.backbone.trunk(input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                                            position_ids=position_ids, return_attn=return_attn)
        logits = self.classifier(self.dropout(hidden))
        loss = None
        if labels is not None:
            if labels.shape != hidden.shape[:2]:
                raise ValueError(f"labels must have shape (batch, time) = {tuple(hidden.shape[:2])}, "
                                 f"got {tuple(labels.shape)}; use -100 where a token has no label")
            scored = labels[labels != -100]
            if scored.numel() and (int(scored.min()) < 0 or int(scored.max()) >= self.num_labels):
                raise ValueError(f"labels must lie in 0..{self.num_labels - 1} (or be -100)")
            loss = F.cross_entropy(logits.float().view(-1, self.num_labels), labels.reshape(-1), ignore_index=-100)
        return ModelOutput(logits=logits, loss=loss, hidden_states=hidden, attentions=attns)
