"""The interactive attention explorer: a GPT's attention weights as a self-contained HTML view.

    show_attention(model, tokenizer, text)        one text, every layer and head
    AttentionExplorer(tokens, weights)            the same from weights you computed, shape (L, H, T, T)
    AttentionSnapshots(model, tokenizer, text)    weights recorded while a model trains, with a step slider
    interactive(model, tokenizer, text)           a text box that re-runs the model (live Jupyter only)

An explorer is shown as a notebook cell's output (``_repr_html_``), written as a standalone page
(``to_html()``, ``save(path)``), or several on one page (``html_page(a, b)``). The HTML carries
everything it needs: the tokens, the weights, the style and a small script (``explorer.css`` and
``explorer.js``, beside this file). It loads nothing from the network, needs no require.js and no
kernel, so it works in JupyterLab, VS Code, Colab and the static book alike.

What it shows:

* **tokens**: hover over a token (or focus it with Tab and the arrow keys) to shade every earlier
  token by the weight the hovered token gives it; click (or Enter) to pin that token, then hover
  over the others to read the exact weights;
* **heatmap**: the whole T×T matrix of one head, rows (queries) and columns (keys) labelled with
  the tokens;
* **all heads**: one small heatmap per layer and head; click one to open it.

How the weights travel. Row ``i`` of a causal head, ``softmax(q_i·Kᵀ/√d_k)`` over keys ``0..i``,
is a probability distribution; the entries above the diagonal are always 0. So only the lower
triangle is stored (``T(T+1)/2`` of the ``T²`` numbers), each weight as one byte: an integer level
``0..255`` with ``weight ≈ level / 255``. Levels are rounded so that every row's levels still sum
to exactly 255 (largest-remainder rounding), and each is within 1/255 of the true weight. The bytes
are base64-encoded into the page: at most 4/3 bytes of HTML per stored weight. Large explorers
(over 32 KiB of weights) are zlib-compressed first, which attention compresses well (most weights
round to 0), and the browser decompresses them with its built-in ``DecompressionStream``.
"""
from __future__ import annotations

import base64
import html
import json
import uuid
import zlib
from importlib import resources
from typing import Sequence

import numpy as np

__all__ = ["AttentionExplorer", "AttentionSnapshots", "show_attention", "interactive", "html_page",
           "token_strings", "quantize_causal", "dequantize_causal", "MODES", "LEVELS"]

MODES = ("tokens", "heatmap", "overview")
LEVELS = 255            # one byte per weight: weight ≈ level / LEVELS
FORMAT_VERSION = 1      # bump when the embedded data layout changes (the script checks it)
COMPRESS_ABOVE = 32 * 1024   # bytes of weights; smaller explorers stay uncompressed (and synchronous)


# ------------------------------------------------------------------------------- the data format
def quantize_causal(weights: np.ndarray) -> np.ndarray:
    """Causal attention weights (..., T, T) → the lower triangles as bytes (uint8, 1-D).

    Order: for each leading index (e.g. layer, head), rows ``i = 0..T-1``, and in row ``i`` the
    keys ``j = 0..i``. Each weight becomes a level in 0..255; a row's levels sum to exactly 255
    and each is within 1/255 of ``weight · 255``: floor every entry, then hand the units still
    missing to the entries with the largest remainders.
    """
    w = np.asarray(weights, dtype=np.float64)
    T = w.shape[-1]
    rows, cols = np.tril_indices(T)
    causal = np.tri(T, dtype=bool)
    flat = w.reshape(-1, T, T)
    out = np.empty((flat.shape[0], rows.size), dtype=np.uint8)
    for n, head in enumerate(flat):        # one (T, T) matrix at a time keeps memory small
        scaled = np.where(causal, head, 0.0) * LEVELS
        levels = np.floor(scaled)
        remainder = np.where(causal, scaled - levels, -1.0)          # -1: never round up a masked entry
        missing = np.clip(np.rint(LEVELS - levels.sum(axis=1)), 0, np.arange(1, T + 1)).astype(int)
        by_remainder = np.argsort(-remainder, axis=1, kind="stable")  # largest remainders first
        rank = np.empty_like(by_remainder)
        np.put_along_axis(rank, by_remainder, np.arange(T)[None, :].repeat(T, axis=0), axis=1)
        levels += rank < missing[:, None]
        out[n] = levels[rows, cols]
    return out.reshape(-1)


def dequantize_causal(data: bytes | np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`quantize_causal`: bytes → float32 weights of ``shape`` (..., T, T),
    zeros above the diagonal."""
    *lead, T, T2 = shape
    if T != T2:
        raise ValueError(f"shape must end in (T, T), got {tuple(shape)}")
    levels = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    n = int(np.prod(lead, dtype=np.int64))
    per_head = T * (T + 1) // 2
    if levels.size != n * per_head:
        raise ValueError(f"{levels.size} bytes do not hold {n} causal {T}×{T} matrices "
                         f"({n * per_head} bytes)")
    rows, cols = np.tril_indices(T)
    out = np.zeros((n, T, T), dtype=np.float32)
    out[:, rows, cols] = levels.reshape(n, per_head) / np.float32(LEVELS)
    return out.reshape(*lead, T, T)


def token_strings(tokenizer, ids: Sequence[int]) -> list[str]:
    """Each token's text for display: ``tokenizer.token_strings(ids)`` where the tokenizer has it
    (BPE tokens can be parts of a UTF-8 character), else ``decode([id])`` per id."""
    ids = [int(i) for i in ids]
    if hasattr(tokenizer, "token_strings"):
        return list(tokenizer.token_strings(ids))
    return [tokenizer.decode([i]) for i in ids]


def _as_numpy(weights) -> np.ndarray:
    if hasattr(weights, "detach"):                       # a torch tensor, possibly on a GPU
        weights = weights.detach().float().cpu().numpy()
    return np.asarray(weights, dtype=np.float32)


def _check_weights(tokens: list[str], w: np.ndarray, snapshots: bool) -> None:
    """Raise ValueError saying what is wrong unless ``w`` is causal attention for ``tokens``."""
    want = "(steps, n_layer, n_head, T, T)" if snapshots else "(n_layer, n_head, T, T)"
    if w.ndim != (5 if snapshots else 4):
        raise ValueError(f"weights must have shape {want}, got {tuple(w.shape)}")
    T = len(tokens)
    if T == 0:
        raise ValueError("no tokens to show: the text is empty")
    if w.shape[-2:] != (T, T):
        raise ValueError(f"weights end in {tuple(w.shape[-2:])} but there are {T} tokens; "
                         f"the last two dimensions must be (T, T) = ({T}, {T})")
    if 0 in w.shape:
        raise ValueError(f"weights must have at least one layer and head, got shape {tuple(w.shape)}")
    if not np.isfinite(w).all():
        raise ValueError("weights contain NaN or infinity")
    if w.min() < -1e-6 or w.max() > 1 + 1e-6:
        raise ValueError(f"attention weights lie in [0, 1]; these range over "
                         f"[{w.min():.3g}, {w.max():.3g}]")
    if np.abs(np.triu(w, k=1)).max(initial=0.0) > 1e-6:
        raise ValueError("weights above the diagonal are not 0: this explorer shows causal "
                         "(decoder, GPT) attention, where token i only sees tokens 0..i")
    # Loose tolerance: bf16/fp16 models round each weight, but a row of a softmax sums to 1.
    worst = np.abs(w.sum(axis=-1) - 1).max()
    if worst > 0.02:
        raise ValueError(f"each row of attention weights must sum to 1 (a softmax); one is off "
                         f"by {worst:.3g}")


def _asset(name: str) -> str:
    """explorer.js or explorer.css, shipped inside the package (see pyproject.toml)."""
    return resources.files("gptlib").joinpath(name).read_text(encoding="utf-8")


def _json_for_script(obj) -> str:
    """JSON that is safe inside <script>: no '<' (so no '</script>' in a token ends the element)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


# ------------------------------------------------------------------------------- the explorer
class AttentionExplorer:
    """An interactive view of attention weights ``(n_layer, n_head, T, T)`` over ``tokens``.

    ``mode`` is the view it opens in: ``"tokens"``, ``"heatmap"`` or ``"overview"`` (all heads).
    With ``steps`` (one training step per snapshot), ``weights`` has a leading snapshot axis,
    ``(len(steps), n_layer, n_head, T, T)``, and the view gets a step slider; ``step_labels``
    adds a note to each step (e.g. its validation loss). :class:`AttentionSnapshots` builds these.
    """

    def __init__(self, tokens: Sequence[str], weights, *, title: str | None = None, layer: int = 0,
                 head: int = 0, mode: str = "tokens", steps: Sequence[int] | None = None,
                 step_labels: Sequence[str] | None = None):
        self.tokens = [str(t) for t in tokens]
        w = _as_numpy(weights)
        _check_weights(self.tokens, w, snapshots=steps is not None)
        if steps is None:
            w = w[None]                                   # one snapshot, unlabelled
        elif len(steps) != w.shape[0]:
            raise ValueError(f"{len(steps)} steps but weights hold {w.shape[0]} snapshots")
        if step_labels is not None and (steps is None or len(step_labels) != len(steps)):
            raise ValueError("step_labels needs steps, one label per step")
        _, L, H, T, _ = w.shape
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not 0 <= layer < L:
            raise ValueError(f"layer {layer} out of range: the model has {L} layers (0..{L - 1})")
        if not 0 <= head < H:
            raise ValueError(f"head {head} out of range: each layer has {H} heads (0..{H - 1})")
        self.n_layer, self.n_head, self.T = L, H, T
        self.steps = None if steps is None else [int(s) for s in steps]
        self.step_labels = None if step_labels is None else [str(s) for s in step_labels]
        self.title, self.layer, self.head, self.mode = title, layer, head, mode
        self._levels = quantize_causal(w)                 # what the page holds, (S·L·H·T(T+1)/2,)

    @property
    def weights(self) -> np.ndarray:
        """The weights as the page shows them (after rounding to levels/255), shape
        (L, H, T, T), or (steps, L, H, T, T) for snapshots."""
        shape = (len(self.steps or [0]), self.n_layer, self.n_head, self.T, self.T)
        w = dequantize_causal(self._levels, shape)
        return w if self.steps is not None else w[0]

    def data(self) -> dict:
        """Everything the page's script reads, as a JSON-ready dict (weights base64-encoded)."""
        payload, encoding = self._levels.tobytes(), "raw"
        if len(payload) > COMPRESS_ABOVE:
            packed = zlib.compress(payload, 9)
            if len(packed) < len(payload):
                payload, encoding = packed, "deflate"
        return {
            "version": FORMAT_VERSION, "title": self.title, "tokens": self.tokens,
            "n_layer": self.n_layer, "n_head": self.n_head, "T": self.T,
            "steps": self.steps, "step_labels": self.step_labels,
            "layer": self.layer, "head": self.head, "mode": self.mode,
            "step": len(self.steps) - 1 if self.steps else 0,    # open on the latest snapshot
            "levels": LEVELS, "encoding": encoding,
            "weights": base64.b64encode(payload).decode("ascii"),
        }

    def _repr_html_(self) -> str:
        """The explorer as an HTML fragment: the notebook output. A fresh id every call, so the
        same explorer shown twice on a page gives two independent views."""
        uid = "gptlib-attn-" + uuid.uuid4().hex[:12]
        preview = "".join(self.tokens)
        preview = preview if len(preview) <= 80 else preview[:77] + "…"
        # Whoever meets this page without JavaScript (an untrusted notebook, GitHub's preview)
        # reads this note; the script removes it.
        note = (f"Attention explorer for “{html.escape(preview)}” ({self.T} tokens, "
                f"{self.n_layer} layers × {self.n_head} heads). Its interactive view needs "
                "JavaScript: in Jupyter, run the cell again or trust the notebook.")
        return (f'<div class="gptlib-attention" id="{uid}" lang="en">'
                f"<style>{_asset('explorer.css')}</style>"
                f'<p class="gpa-nojs">{note}</p>'
                f'<script type="application/json" class="gpa-data">{_json_for_script(self.data())}</script>'
                # The script is one function expression; call it on this explorer's own element.
                f"<script>({_asset('explorer.js').strip().rstrip(';')})"
                f'(document.currentScript && document.currentScript.parentElement'
                f' || document.getElementById("{uid}"));</script>'
                "</div>")

    def to_html(self) -> str:
        """A complete standalone HTML page with this explorer."""
        return html_page(self, title=self.title)

    def save(self, path) -> None:
        """Write :meth:`to_html` to ``path`` atomically (open it in any browser, offline)."""
        from .atomic import write_text
        write_text(path, self.to_html())

    def __repr__(self) -> str:
        steps = f", {len(self.steps)} steps" if self.steps else ""
        return (f"AttentionExplorer({self.T} tokens, {self.n_layer} layers × {self.n_head} heads"
                f"{steps}, mode={self.mode!r})")


def html_page(*explorers: AttentionExplorer, title: str | None = None) -> str:
    """One standalone HTML page holding several explorers, one after another."""
    body = "\n".join(e._repr_html_() for e in explorers)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title or 'Attention explorer')}</title>"
            "<meta name=\"color-scheme\" content=\"light dark\">"
            "<style>body{margin:1.5rem;font-family:system-ui,sans-serif}"
            "@media (prefers-color-scheme: dark){body{background:#101418;color:#e6edf3}}"
            ".gptlib-attention{margin-bottom:1.5rem}</style>"
            f"</head><body>\n{body}\n</body></html>\n")


# ------------------------------------------------------------------------------- from a model
def _device(model):
    return next(model.parameters()).device


def _encode(model, tokenizer, text: str) -> tuple[list[int], list[str]]:
    """Token ids and display strings of ``text``, checked against the model's context length."""
    ids = [int(i) for i in tokenizer.encode(text)]
    if not ids:
        raise ValueError("no tokens to show: the text is empty")
    block = model.config.block_size
    if len(ids) > block:
        raise ValueError(f"the text is {len(ids)} tokens long, but this model sees at most "
                         f"block_size={block} tokens; shorten the text (e.g. to its first "
                         f"{block} tokens) to see its attention")
    return ids, token_strings(tokenizer, ids)


def _attention(model, ids: list[int]) -> np.ndarray:
    import torch
    return model.attention_weights(torch.tensor(ids, dtype=torch.long, device=_device(model))).numpy()


def show_attention(model, tokenizer, text: str, *, layer: int = 0, head: int = 0,
                   mode: str = "tokens", title: str | None = None) -> AttentionExplorer:
    """Run ``model`` on ``text`` and return an explorer of every layer's and head's attention.

    The last expression of a notebook cell shows it; ``.save("attention.html")`` writes a page.
    """
    ids, tokens = _encode(model, tokenizer, text)
    return AttentionExplorer(tokens, _attention(model, ids), title=title, layer=layer, head=head,
                             mode=mode)


class AttentionSnapshots:
    """Attention on one text, recorded at several points while a model trains.

        snapshots = AttentionSnapshots(model, tokenizer, "To be, or not to be")
        snapshots.record(0)                                   # before training
        Trainer(model, cfg, train_data=..., val_data=..., on_eval=snapshots.on_eval).fit()
        snapshots.explorer()                                  # step slider over the snapshots

    Each snapshot keeps the full float32 weights, n_layer·n_head·T² numbers.
    """

    def __init__(self, model, tokenizer, text: str):
        self.model = model
        self.ids, self.tokens = _encode(model, tokenizer, text)
        self.steps: list[int] = []
        self.labels: list[str] = []
        self.weights: list[np.ndarray] = []       # one (n_layer, n_head, T, T) array per step

    def record(self, step: int, label: str = "") -> None:
        """Store the model's attention on the text now, as training step ``step``."""
        self.steps.append(int(step))
        self.labels.append(label)
        self.weights.append(_attention(self.model, self.ids))

    def on_eval(self, trainer, step: int, train_loss: float, val_loss: float) -> None:
        """A :class:`~gptlib.training.Trainer` ``on_eval`` callback: record after each evaluation."""
        self.record(step, label=f"val loss {val_loss:.3f}")

    def __len__(self) -> int:
        return len(self.steps)

    def explorer(self, *, title: str | None = None, layer: int = 0, head: int = 0,
                 mode: str = "tokens") -> AttentionExplorer:
        """An explorer with a slider over the recorded steps (it opens on the last one)."""
        if not self.steps:
            raise ValueError("no snapshots yet: call record(step), or train with "
                             "Trainer(..., on_eval=snapshots.on_eval)")
        return AttentionExplorer(self.tokens, np.stack(self.weights), title=title, layer=layer,
                                 head=head, mode=mode, steps=self.steps, step_labels=self.labels)


# ------------------------------------------------------------------------------- live Jupyter
def _frontend_is_live() -> bool:
    """True when a person runs this cell in a Jupyter front end (JupyterLab, VS Code, Colab).

    Tools that execute notebooks without a person (jupyter-book, nbconvert, nbval) send every cell
    with ``allow_stdin=False``, since nobody could answer ``input()``; front ends send True.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return False
    try:
        parent = kernel.get_parent("shell")              # ipykernel ≥ 6
    except (AttributeError, TypeError):
        parent = getattr(kernel, "_parent_header", {})   # older ipykernel
    return bool((parent or {}).get("content", {}).get("allow_stdin", False))


def interactive(model, tokenizer, text: str, *, layer: int = 0, head: int = 0, mode: str = "tokens",
                live: bool | None = None):
    """A text box above the explorer: edit the text, press Enter, and the model runs on it again.

    The text box needs a running kernel, so it appears only when a person runs the cell
    (``live=None`` detects this; ``live=True`` forces it). When the notebook is executed to build
    the book, or in a plain script, this returns the static explorer of ``text``: a saved page
    never shows a text box that can do nothing.
    """
    first = show_attention(model, tokenizer, text, layer=layer, head=head, mode=mode)
    if not (_frontend_is_live() if live is None else live):
        return first
    import ipywidgets as widgets
    from IPython.display import display

    box = widgets.Text(value=text, description="Text", continuous_update=False,
                       placeholder="type a text and press Enter", layout=widgets.Layout(width="100%"))
    out = widgets.Output()
    with out:
        display(first)

    def rerun(change):
        out.clear_output(wait=True)
        with out:
            try:
                display(show_attention(model, tokenizer, change["new"], layer=layer, head=head, mode=mode))
            except ValueError as e:                       # empty or too long for the model
                print(e)

    box.observe(rerun, names="value")
    return widgets.VBox([box, out])
