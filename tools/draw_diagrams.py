"""The book's diagrams, drawn as plain SVG: the editable source of every file in ``assets/``.

    python tools/draw_diagrams.py          write assets/NAME.svg and the copy gptlib ships
    python tools/draw_diagrams.py --check  exit 1 if a committed SVG differs from this script

Each diagram is a function below that places boxes, arrows and labels on a canvas. The SVGs are
written twice: to ``assets/`` (the book's diagram folder) and to ``gptlib/diagrams/``, which ships
inside the package so that ``gptlib.notebook.diagram(name)`` shows a diagram wherever gptlib is
installed (the built book, Jupyter, a chapter opened alone on Colab).

Legible in light and dark themes: every diagram sits on its own light card (an opaque, rounded
background) with dark strokes and text, so a dark page shows a light figure rather than dark
text on a dark background. No fonts, scripts or external files are referenced.
"""
from __future__ import annotations

import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIRS = [ROOT / "assets", ROOT / "gptlib" / "diagrams"]

INK = "#1f2328"          # strokes and text
MUTED = "#57606a"        # secondary text (shapes, notes)
CARD = "#ffffff"         # the light card behind everything
EDGE = "#d0d7de"         # the card's border
FILL = {                 # light fills, one per kind of step
    "data": "#f6f8fa",
    "embed": "#dafbe1",
    "attn": "#ddf4ff",
    "mlp": "#fff1e5",
    "norm": "#eaeef2",
    "head": "#fbefff",
    "frame": "#fdfdfd",
    "future": "#d0d7de",
}
FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"


def rich(s: str) -> str:
    """Escape ``s`` for SVG, turning ``^{..}`` and ``_{..}`` into superscript and subscript."""
    out, i = [], 0
    while i < len(s):
        if s[i] in "^_" and s[i + 1:i + 2] == "{":
            j = s.index("}", i)
            shift = "super" if s[i] == "^" else "sub"
            out.append(f'<tspan baseline-shift="{shift}" font-size="75%">{escape(s[i + 2:j])}'
                       "</tspan>")
            i = j + 1
        else:
            out.append(escape(s[i]))
            i += 1
    return "".join(out)


class Canvas:
    """A list of SVG elements with a few drawing helpers; coordinates in pixels."""

    def __init__(self, width: int, height: int, title: str):
        self.w, self.h, self.title = width, height, title
        self.items: list[str] = []
        self.marker = "arrow"      # render_all() makes it unique per diagram (inline SVGs share ids)

    # ------------------------------------------------------------------ primitives
    def text(self, x, y, s, size=13, anchor="middle", color=INK, weight="normal",
             style="normal", family=FONT, rotate=0):
        turn = f' transform="rotate({rotate} {x:g} {y:g})"' if rotate else ""
        self.items.append(
            f'<text x="{x:g}" y="{y:g}"{turn} font-family="{family}" font-size="{size}" '
            f'text-anchor="{anchor}" dominant-baseline="central" fill="{color}" '
            f'font-weight="{weight}" font-style="{style}">{rich(s)}</text>')

    def rect(self, x, y, w, h, fill, stroke=INK, rx=6, width=1.4, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.items.append(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="{rx}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{d}/>')

    def line(self, points, arrow=True, color=INK, width=1.4, dash=None):
        pts = " ".join(f"{x:g},{y:g}" for x, y in points)
        d = f' stroke-dasharray="{dash}"' if dash else ""
        m = ' marker-end="url(#@ARROW@)"' if arrow else ""
        self.items.append(f'<polyline points="{pts}" fill="none" stroke="{color}" '
                          f'stroke-width="{width}"{d}{m}/>')

    # ------------------------------------------------------------------ composites
    def box(self, x, y, w, h, label, kind="data", sub=None, size=13):
        """A rounded box with a label and, below it, a smaller second line (e.g. a shape)."""
        self.rect(x, y, w, h, FILL[kind])
        if sub is None:
            self.text(x + w / 2, y + h / 2, label, size=size)
        else:
            self.text(x + w / 2, y + h / 2 - 8, label, size=size)
            self.text(x + w / 2, y + h / 2 + 10, sub, size=size - 2, color=MUTED)

    def plus(self, x, y, r=10):
        self.items.append(f'<circle cx="{x:g}" cy="{y:g}" r="{r}" fill="{CARD}" stroke="{INK}" '
                          f'stroke-width="1.4"/>')
        self.line([(x - r + 4, y), (x + r - 4, y)], arrow=False)
        self.line([(x, y - r + 4), (x, y + r - 4)], arrow=False)

    def svg(self) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}" role="img" aria-label="{escape(self.title)}">')
        defs = (f'<defs><marker id="{self.marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                f'fill="{INK}"/></marker></defs>')
        card = (f'<rect x="1" y="1" width="{self.w - 2}" height="{self.h - 2}" rx="12" '
                f'fill="{CARD}" stroke="{EDGE}" stroke-width="1"/>')
        title = f"<title>{escape(self.title)}</title>"
        # no blank lines, one element per line: diff-friendly, and valid inline in Markdown
        items = [i.replace("@ARROW@", self.marker) for i in self.items]
        return "\n".join([head, title, defs, card, *items, "</svg>"]) + "\n"


# ---------------------------------------------------------------------------- the diagrams

def gpt_model() -> Canvas:
    """The whole model: ids -> embeddings -> L blocks -> final norm -> tied head -> logits."""
    c = Canvas(700, 650, "A GPT: embeddings, L blocks, final LayerNorm, tied output head")
    c.text(350, 26, "The whole GPT, with tensor shapes", size=16, weight="bold")
    cx, bw = 310, 300
    x0 = cx - bw / 2
    c.box(x0, 52, bw, 44, "token ids  idx", "data", "(B, T) integers")
    c.line([(cx, 96), (cx, 124)])
    c.box(x0, 124, bw, 48, "token embedding  E[idx]", "embed", "wte: E is (V, C)  →  (B, T, C)")
    c.box(500, 124, 180, 48, "position embedding", "embed", "wpe: P[0..T−1]  (T, C)")
    c.line([(cx, 172), (cx, 194)])
    c.line([(590, 172), (590, 206), (cx + 12, 206)])
    c.plus(cx, 206)
    c.text(cx + 22, 228, "h₀ = E[idx] + P   (B, T, C)", size=12, anchor="start", color=MUTED)
    c.line([(cx, 216), (cx, 250)])
    # the stack of blocks
    c.rect(x0 - 20, 250, bw + 40, 168, FILL["frame"], rx=10, dash="6 4")
    c.text(x0 - 8, 266, "× L blocks", size=12, anchor="start", color=MUTED, weight="bold")
    c.box(x0, 282, bw, 50, "LayerNorm → masked multi-head", "attn",
          "self-attention, added to the stream")
    c.line([(cx, 332), (cx, 352)])
    c.box(x0, 352, bw, 50, "LayerNorm → MLP (C → 4C → C)", "mlp", "GELU, added to the stream")
    c.text(x0 + bw + 36, 326, "each block:", size=12, anchor="start", color=MUTED)
    c.text(x0 + bw + 36, 344, "(B, T, C) in,", size=12, anchor="start", color=MUTED)
    c.text(x0 + bw + 36, 362, "(B, T, C) out", size=12, anchor="start", color=MUTED)
    c.line([(cx, 418), (cx, 446)])
    c.box(x0, 446, bw, 44, "final LayerNorm  ln_f", "norm", "(B, T, C)")
    c.line([(cx, 490), (cx, 518)])
    c.box(x0, 518, bw, 48, "output head  h Eᵀ", "head", "lm_head: (B, T, C) · (C, V)")
    c.line([(cx, 566), (cx, 592)])
    c.box(x0, 592, bw, 44, "logits", "data", "(B, T, V): next-token scores at every position")
    # the tied weight
    c.line([(x0, 148), (30, 148), (30, 542), (x0 - 4, 542)], dash="5 4")
    for k, s in enumerate(["tied:", "the head", "reuses E"]):
        c.text(40, 300 + 18 * k, s, size=12, anchor="start", color=MUTED)
    for k, s in enumerate(["B batch, T positions,", "C width, V vocabulary,", "L layers"]):
        c.text(500, 470 + 18 * k, s, size=12, anchor="start", color=MUTED)
    return c


def gpt_block() -> Canvas:
    """One pre-LN block: the residual stream with two branches added to it."""
    c = Canvas(680, 620, "A pre-LN GPT block: attention and MLP branches added to the residual stream")
    c.text(340, 26, "One GPT block (pre-LN, as in GPT-2)", size=16, weight="bold")
    sx, bx = 130, 230                              # the residual stream, the branches
    c.text(sx, 598, "x   (B, T, C)", size=13)
    c.line([(sx, 584), (sx, 392)])
    c.plus(sx, 380)
    c.line([(sx, 370), (sx, 118)])
    c.plus(sx, 106)
    c.line([(sx, 96), (sx, 64)])
    c.text(sx, 50, "output   (B, T, C)", size=13)
    c.text(sx - 14, 470, "residual", size=12, anchor="end", color=MUTED)
    c.text(sx - 14, 486, "stream", size=12, anchor="end", color=MUTED)
    # attention branch
    c.line([(sx, 548), (bx + 120, 548), (bx + 120, 528)])
    c.box(bx + 40, 492, 160, 36, "LayerNorm  ln_1", "norm")
    c.line([(bx + 120, 492), (bx + 120, 462)])
    c.box(bx, 406, 240, 56, "masked multi-head", "attn", "self-attention  (B, T, C)")
    c.line([(bx + 120, 406), (bx + 120, 380), (sx + 12, 380)])
    for k, s in enumerate(["the only step where", "positions exchange", "information"]):
        c.text(bx + 260, 418 + 16 * k, s, size=12, anchor="start", color=MUTED)
    # MLP branch
    c.line([(sx, 344), (bx + 120, 344), (bx + 120, 326)])
    c.box(bx + 40, 290, 160, 36, "LayerNorm  ln_2", "norm")
    c.line([(bx + 120, 290), (bx + 120, 272)])
    c.box(bx, 128, 240, 144, "", "mlp")
    c.text(bx + 120, 142, "MLP", size=13, weight="bold")
    c.box(bx + 20, 154, 200, 30, "c_fc: C → 4C   (B, T, 4C)", "data", size=12)
    c.box(bx + 20, 192, 200, 30, "GELU", "data", size=12)
    c.box(bx + 20, 230, 200, 30, "c_proj: 4C → C   (B, T, C)", "data", size=12)
    c.line([(bx + 120, 128), (bx + 120, 106), (sx + 12, 106)])
    for k, s in enumerate(["acts on every", "position separately"]):
        c.text(bx + 260, 192 + 16 * k, s, size=12, anchor="start", color=MUTED)
    c.text(250, 598, "a = x + Attn(LN(x)),   out = a + MLP(LN(a))", size=13, anchor="start",
           style="italic")
    return c


def qkv_heads() -> Canvas:
    """x -> c_attn -> Q, K, V -> split into heads -> attention per head -> merge -> c_proj."""
    c = Canvas(760, 560, "Q, K and V projections and the split into heads")
    c.text(380, 26, "Q, K, V projections and the split into H heads", size=16, weight="bold")
    c.box(290, 50, 180, 44, "x", "data", "(B, T, C)")
    c.line([(380, 94), (380, 116)])
    c.box(230, 116, 300, 44, "c_attn: one matmul  x W", "attn", "W is (C, 3C)  →  (B, T, 3C)")
    c.line([(380, 160), (380, 174), (130, 174), (130, 190)], arrow=True)
    c.line([(380, 174), (380, 190)])
    c.line([(380, 174), (630, 174), (630, 190)])
    heads = 4
    colors = ["#ddf4ff", "#dafbe1", "#fff1e5", "#fbefff"]
    for i, (name, x) in enumerate([("Q", 30), ("K", 280), ("V", 530)]):
        c.text(x + 100, 202, f"{name} = x W^{{{name}}}   (B, T, C)", size=13)
        w = 200 / heads
        for h in range(heads):
            c.rect(x + h * w, 216, w, 40, colors[h], rx=2)
            c.text(x + h * w + w / 2, 236, f"h{h + 1}", size=12)
        c.text(x + 100, 270, "column blocks of C/H", size=11, color=MUTED)
    c.text(380, 300, "split_heads: (B, T, C) → (B, H, T, C/H) for each of Q, K, V  (drawn for H = 4)", size=13)
    for h in range(heads):
        y = 326 + h * 34
        c.rect(130, y, 500, 28, colors[h], rx=4)
        k = h + 1
        c.text(380, y + 14, f"head {k}:  softmax(Q_{{{k}}} K_{{{k}}}ᵀ / √(C/H) + M) V_{{{k}}}"
               "   → (B, T, C/H)", size=12)
    c.line([(380, 462), (380, 478)])
    c.box(160, 478, 440, 36, "merge_heads: concatenate → (B, T, C);  c_proj: · W^{O}  (C, C)",
          "attn", size=12)
    c.text(380, 534, "H heads cost no extra weights: 4C² for W^{Q}, W^{K}, W^{V}, W^{O}, whatever H is",
           size=12, color=MUTED)
    return c


def causal_mask() -> Canvas:
    """The T x T mask: query i may attend to keys j <= i."""
    tokens = ["The", "cat", "sat", "on", "the", "mat"]
    n, cell = len(tokens), 52
    x0, y0 = 170, 112
    c = Canvas(640, 520, "The causal mask: query i attends to keys j ≤ i only")
    c.text(320, 26, "The causal mask", size=16, weight="bold")
    c.text(x0 + n * cell / 2, 58, "key position j (attended to)", size=13)
    c.text(60, y0 + n * cell / 2, "query position i (attending)", size=13, rotate=-90)
    for j, t in enumerate(tokens):
        c.text(x0 + j * cell + cell / 2, 92, f"{j}: {t}", size=12)
    for i, t in enumerate(tokens):
        c.text(x0 - 10, y0 + i * cell + cell / 2, f"{i}: {t}", size=12, anchor="end")
        for j in range(n):
            allowed = j <= i
            c.rect(x0 + j * cell, y0 + i * cell, cell, cell,
                   FILL["attn"] if allowed else FILL["future"], rx=0, width=1)
            c.text(x0 + j * cell + cell / 2, y0 + i * cell + cell / 2, "0" if allowed else "−∞",
                   size=13, color=INK if allowed else MUTED)
    tx = x0 + n * cell + 24
    c.rect(tx, 150, 16, 16, FILL["attn"], rx=0, width=1)
    c.text(tx + 24, 158, "j ≤ i: score kept", size=12, anchor="start")
    c.rect(tx, 182, 16, 16, FILL["future"], rx=0, width=1)
    c.text(tx + 24, 190, "j > i: −∞, so", size=12, anchor="start")
    c.text(tx + 24, 206, "weight e^{−∞} = 0", size=12, anchor="start")
    c.text(320, 450, "softmax(QKᵀ/√d_{k} + M), with M as shown: row i mixes the values", size=13)
    c.text(320, 472, "of tokens 0..i only, so no position sees a later one.", size=13)
    return c


def post_vs_pre_ln() -> Canvas:
    """Post-LN (the original Transformer) beside pre-LN (GPT-2 onward)."""
    c = Canvas(720, 520, "Post-LN beside pre-LN: where the LayerNorm sits")
    c.text(360, 26, "Where the LayerNorm sits", size=16, weight="bold")
    for col, (title, pre) in enumerate([("post-LN (original Transformer)", False),
                                        ("pre-LN (GPT-2 onward)", True)]):
        ox = 40 + col * 350
        sx = ox + 70                                   # residual stream
        c.text(ox + 140, 60, title, size=14, weight="bold")
        c.text(sx, 480, "x", size=13)
        c.line([(sx, 466), (sx, 300)] if not pre else [(sx, 466), (sx, 250)])
        if not pre:
            c.line([(sx, 430), (ox + 190, 430), (ox + 190, 400)])
            c.box(ox + 130, 340, 120, 60, "sub-layer F", "attn", "attention or MLP")
            c.line([(ox + 190, 340), (ox + 190, 290), (sx + 12, 290)])
            c.plus(sx, 290)
            c.line([(sx, 280), (sx, 250)])
            c.box(sx - 60, 200, 120, 50, "LayerNorm", "norm", "on the stream")
            c.line([(sx, 200), (sx, 110)])
            c.text(sx, 96, "LN(x + F(x))", size=13, style="italic")
            c.text(ox + 160, 150, "every block renormalises", size=12, anchor="start",
                   color=MUTED)
            c.text(ox + 160, 166, "the whole stream", size=12, anchor="start", color=MUTED)
        else:
            c.line([(sx, 430), (ox + 190, 430), (ox + 190, 414)])
            c.box(ox + 130, 364, 120, 50, "LayerNorm", "norm", "on the input of F")
            c.line([(ox + 190, 364), (ox + 190, 344)])
            c.box(ox + 130, 284, 120, 60, "sub-layer F", "attn", "attention or MLP")
            c.line([(ox + 190, 284), (ox + 190, 240), (sx + 12, 240)])
            c.plus(sx, 240)
            c.line([(sx, 230), (sx, 110)])
            c.text(sx, 96, "x + F(LN(x))", size=13, style="italic")
            c.text(ox + 120, 170, "the stream is a plain sum;", size=12, anchor="start",
                   color=MUTED)
            c.text(ox + 120, 186, "one final LayerNorm (ln_f)", size=12, anchor="start",
                   color=MUTED)
            c.text(ox + 120, 202, "after the last block", size=12, anchor="start", color=MUTED)
    c.line([(360, 70), (360, 490)], arrow=False, color=EDGE)
    return c


def transformer_families() -> Canvas:
    """The encoder-decoder Transformer, BERT's encoder and GPT's decoder-only stack."""
    c = Canvas(900, 600, "Encoder-decoder Transformer, BERT's encoder and a decoder-only GPT")
    c.text(450, 26, "Three ways to stack Transformer layers", size=16, weight="bold")

    def mask_icon(x, y, causal, size=44):
        n = 4
        s = size / n
        for i in range(n):
            for j in range(n):
                on = (j <= i) or not causal
                c.rect(x + j * s, y + i * s, s, s, FILL["attn"] if on else FILL["future"], rx=0,
                       width=0.8)

    def stack(x, bottom, w, layers, label):
        """Sub-layers in processing order, drawn from the bottom up; returns (top, centres)."""
        h = 30 + 52 * len(layers)
        top = bottom - h
        c.rect(x, top, w, h, FILL["frame"], rx=10, dash="6 4")
        c.text(x + w - 8, top + 13, label, size=11, anchor="end", color=MUTED, weight="bold")
        centres = []
        for k, (name, kind) in enumerate(layers):
            y = bottom - 8 - 52 * (k + 1)
            c.box(x + 10, y + 4, w - 20, 44, name, kind, size=12)
            centres.append(y + 26)
        return top, centres

    def column(cx, bottom, layers, label, head, head_sub, inputs, causal, note):
        top, centres = stack(cx - 80, bottom, 160, layers, label)
        c.box(cx - 75, top - 62, 150, 42, head, "head", head_sub, size=12)
        c.line([(cx, top), (cx, top - 20)])
        c.text(cx, bottom + 40, inputs, size=12)
        c.line([(cx, bottom + 28), (cx, bottom)])
        mask_icon(cx - 22, bottom + 60, causal)
        for k, line in enumerate(note):
            c.text(cx, bottom + 126 + 16 * k, line, size=11, color=MUTED)
        return top, centres

    bottom = 400
    # encoder-decoder
    c.text(190, 62, "Encoder–decoder Transformer", size=14, weight="bold")
    c.text(190, 80, "(Vaswani et al., 2017; translation)", size=11, color=MUTED)
    e_top, _ = stack(20, bottom, 160, [("self-attention", "attn"), ("feed-forward", "mlp")],
                     "encoder × N")
    c.text(100, bottom + 40, "source tokens", size=12)
    c.line([(100, bottom + 28), (100, bottom)])
    mask_icon(78, bottom + 60, causal=False)
    d_top, d_mid = column(280, bottom, [("masked self-attn.", "attn"),
                                        ("cross-attention", "attn"), ("feed-forward", "mlp")],
                          "decoder × N", "linear + softmax", "next target token",
                          "target so far", True, [])
    c.line([(100, e_top), (100, e_top - 16), (190, e_top - 16), (190, d_mid[1]),
            (208, d_mid[1])])                                    # encoder output → cross-attn
    c.text(190, bottom + 126, "Add & Norm (post-LN) after every sub-layer; the decoder",
           size=11, color=MUTED)
    c.text(190, bottom + 142, "reads the encoder's output through cross-attention",
           size=11, color=MUTED)
    c.line([(385, 56), (385, 560)], arrow=False, color=EDGE)
    # BERT
    c.text(520, 62, "BERT: encoder only", size=14, weight="bold")
    c.text(520, 80, "(Devlin et al., 2019)", size=11, color=MUTED)
    column(520, bottom, [("self-attention", "attn"), ("feed-forward", "mlp")], "encoder × L",
           "masked-token and", "next-sentence heads", "tokens, some hidden", False,
           ["every position sees both sides"])
    c.line([(655, 56), (655, 560)], arrow=False, color=EDGE)
    # GPT
    c.text(775, 62, "GPT: decoder only", size=14, weight="bold")
    c.text(775, 80, "(Radford et al., 2018)", size=11, color=MUTED)
    column(775, bottom, [("masked self-attn.", "attn"), ("MLP", "mlp")], "block × L",
           "tied output head", "next-token scores", "tokens so far", True,
           ["no encoder, no cross-attention;", "causal mask; next-token objective"])
    c.text(450, 582, "small grids: which keys each query may attend to (grey: masked)", size=11,
           color=MUTED)
    return c


DIAGRAMS = {
    "gpt_model": gpt_model,
    "gpt_block": gpt_block,
    "qkv_heads": qkv_heads,
    "causal_mask": causal_mask,
    "post_vs_pre_ln": post_vs_pre_ln,
    "transformer_families": transformer_families,
}


def render_all() -> dict[str, str]:
    svgs = {}
    for name, draw in DIAGRAMS.items():
        canvas = draw()
        canvas.marker = f"arrow-{name.replace('_', '-')}"
        svgs[name] = canvas.svg()
    return svgs


def main(argv: list[str]) -> int:
    svgs = render_all()
    if "--check" in argv:
        stale = [str(d / f"{n}.svg") for d in OUT_DIRS for n, s in svgs.items()
                 if not (d / f"{n}.svg").exists() or (d / f"{n}.svg").read_text() != s]
        for s in stale:
            print("out of date:", s)
        return 1 if stale else 0
    for d in OUT_DIRS:
        d.mkdir(exist_ok=True)
        for name, s in svgs.items():
            (d / f"{name}.svg").write_text(s, encoding="utf-8")
    print(f"wrote {len(svgs)} diagrams to", ", ".join(str(d.relative_to(ROOT)) for d in OUT_DIRS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
