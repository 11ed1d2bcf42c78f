"""Unit tests for gptlib.explorer: the data the page embeds, its validation, and its size.

The page itself (drawing, hovering, clicking) is tested in a real browser in
tests/test_explorer_browser.py.
"""
import base64
import json
import re
import zlib

import numpy as np
import pytest
import torch

from gptlib import GPT, CharTokenizer, GPTConfig, TrainConfig, Trainer, get_runtime
from gptlib.explorer import (LEVELS, AttentionExplorer, AttentionSnapshots, dequantize_causal, html_page,
                             interactive, quantize_causal, show_attention, token_strings)

TEXT = "To be, or not to be, that is the question."


def tiny_gpt(vocab_size, n_layer=2, n_head=2, block_size=64, n_embd=32, seed=0):
    """A random-init GPT whose attention is sharp enough that heads differ (GPT-2's init,
    std 0.02, makes every head nearly uniform)."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer,
                          n_head=n_head, n_embd=n_embd))
    for block in model.blocks:
        torch.nn.init.normal_(block.attn.c_attn.weight, std=0.3)
    return model


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: threads would spend longer synchronising than computing."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tok():
    return CharTokenizer.from_text(TEXT)


@pytest.fixture(scope="module")
def model(tok):
    return tiny_gpt(tok.vocab_size)


def embedded(html: str) -> list[dict]:
    """The JSON data block of every explorer in ``html``."""
    blocks = re.findall(r'<script type="application/json" class="gpa-data">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blocks]


def decode(data: dict) -> np.ndarray:
    """Rebuild the weights from the page's data, independently of gptlib's own decoder:
    base64 → (zlib) → bytes, laid out as [step][layer][head][row i][keys 0..i], level/255."""
    raw = base64.b64decode(data["weights"])
    if data["encoding"] == "deflate":
        raw = zlib.decompress(raw)
    levels = np.frombuffer(raw, dtype=np.uint8)
    S, L, H, T = len(data["steps"] or [0]), data["n_layer"], data["n_head"], data["T"]
    assert levels.size == S * L * H * T * (T + 1) // 2          # only the causal half is stored
    out = np.zeros((S, L, H, T, T))
    pos = 0
    for s in range(S):
        for layer in range(L):
            for h in range(H):
                for i in range(T):
                    out[s, layer, h, i, :i + 1] = levels[pos:pos + i + 1] / data["levels"]
                    pos += i + 1
    return out


def random_causal_weights(L, H, T, seed=0, sharpness=3.0):
    """Softmax of random scores with the causal mask: what a GPT's attention looks like in shape."""
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(L, H, T, T, generator=g) * sharpness
    scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(scores, dim=-1).numpy()


# ------------------------------------------------------------------------------------ the data
def test_embedded_data_decodes_to_the_models_attention(model, tok):
    ex = show_attention(model, tok, TEXT, layer=1, head=1)
    (data,) = embedded(ex._repr_html_())
    want = model.attention_weights(torch.tensor(tok.encode(TEXT))).numpy()
    got = decode(data)[0]
    assert got.shape == want.shape == (2, 2, len(TEXT), len(TEXT))
    np.testing.assert_allclose(got, want, atol=1 / LEVELS + 1e-6)      # each weight within one level
    assert np.abs(got - want).mean() < 0.5 / LEVELS                       # and usually within half of one
    assert data["tokens"] == list(TEXT)
    assert (data["layer"], data["head"], data["mode"]) == (1, 1, "tokens")
    # The heads differ, so a view that mixed them up would be caught by the browser test.
    assert np.abs(want[0, 0] - want[0, 1]).max() > 0.1


def test_rows_sum_to_one_and_upper_triangle_is_zero(model, tok):
    got = decode(embedded(show_attention(model, tok, TEXT)._repr_html_())[0])
    # Largest-remainder rounding: every row's levels add up to exactly 255.
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, atol=1e-9)
    assert np.all(np.triu(got, k=1) == 0)


def test_quantize_round_trip_on_many_tokens_and_compression():
    w = random_causal_weights(3, 4, 200, sharpness=4.0)
    levels = quantize_causal(w)
    assert levels.dtype == np.uint8 and levels.size == 3 * 4 * 200 * 201 // 2
    back = dequantize_causal(levels, w.shape)
    assert np.abs(back - w).max() <= 1 / LEVELS
    np.testing.assert_allclose(back.sum(-1), 1.0, atol=1e-5)
    # This explorer is large enough to be stored compressed; the data must still decode exactly.
    ex = AttentionExplorer([f"t{i}" for i in range(200)], w)
    data = ex.data()
    assert data["encoding"] == "deflate"
    np.testing.assert_allclose(decode(data)[0], ex.weights, atol=1e-6)


def test_small_explorers_stay_uncompressed(model, tok):
    assert show_attention(model, tok, TEXT).data()["encoding"] == "raw"


def test_token_strings_prefers_the_tokenizers_own_display(tok):
    class WithStrings:
        def token_strings(self, ids):
            return [f"<{i}>" for i in ids]
    assert token_strings(WithStrings(), [3, 1]) == ["<3>", "<1>"]
    assert token_strings(tok, tok.encode("to be")) == list("to be")


# ------------------------------------------------------------------------------------ the HTML
def test_html_is_self_contained_and_ids_are_unique(model, tok):
    a = show_attention(model, tok, TEXT)
    b = show_attention(model, tok, "not to be", mode="heatmap")
    page = html_page(a, b, a)                     # the same explorer twice gets two ids too
    ids = re.findall(r'<div class="gptlib-attention" id="([^"]+)"', page)
    assert len(ids) == 3 and len(set(ids)) == 3
    for html in (a._repr_html_(), page, b.to_html()):
        assert 'class="gptlib-attention"' in html
        assert not re.search(r"https?:", html, re.I), "no URLs: the page must work offline"
        assert not re.search(r"<script[^>]+src\s*=", html, re.I), "no external scripts"
        assert "<link" not in html and "require(" not in html and "@import" not in html
    assert b.to_html().startswith("<!DOCTYPE html>")
    assert embedded(b._repr_html_())[0]["mode"] == "heatmap"


def test_script_asset_can_be_inlined():
    """Inside <script>, '</script' ends the element and '<!--' changes how HTML parses it."""
    from gptlib.explorer import _asset
    code = _asset("explorer.js")
    assert "<script" not in code.lower() and "</script" not in code.lower() and "<!--" not in code


def test_tokens_cannot_break_out_of_the_data_script():
    tokens = ["</script>", "<b>", "&amp;"]
    w = np.tril(np.ones((1, 1, 3, 3))) / np.arange(1, 4)[:, None]
    html = AttentionExplorer(tokens, w)._repr_html_()
    assert html.count("</script>") == 2           # the data block's and the code's own end tags
    assert embedded(html)[0]["tokens"] == tokens


def test_save_writes_a_standalone_page(model, tok, tmp_path):
    path = tmp_path / "attention.html"
    show_attention(model, tok, TEXT, title="Hamlet").save(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>Hamlet</title>" in text
    assert len(embedded(text)) == 1


def test_size_of_a_256_token_6x6_explorer_is_bounded():
    """The budget, whatever the weights: one byte per stored weight (the causal half,
    L·H·T(T+1)/2 of them) in base64 (4/3 of a byte each), plus 64 KiB for the script, the style
    and the tokens: 1.64 MB here. Compression is used only when it makes the data smaller, so
    that is the worst case. Attention compresses well, since most weights round to 0: this sharp
    random attention takes about a quarter of the budget (checked: under half). For comparison,
    JSON with the full T×T matrices at 3 decimals would take 14 MB."""
    L, H, T = 6, 6, 256
    stored = L * H * T * (T + 1) // 2
    html = AttentionExplorer([f"tok{i}" for i in range(T)], random_causal_weights(L, H, T))._repr_html_()
    budget = 4 / 3 * stored + 64 * 1024
    assert len(html.encode()) <= budget / 2
    naive = L * H * T * T * len("0.123,")
    assert len(html.encode()) < naive / 20


def test_size_of_a_real_256_token_model_explorer(capsys):
    """The same for a real (random-init) GPT: 6 layers, 6 heads, a 256-token context."""
    text = ("First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. "
            "First Citizen: You are all resolved rather to die than to famish? All: Resolved. "
            "resolved. First Citizen: First, you know Caius Marcius is chief enemy to the people. "
            "All: We know't, we know't. First Citizen: Let us kill him.")[:256]
    tok = CharTokenizer.from_text(text)
    model = tiny_gpt(tok.vocab_size, n_layer=6, n_head=6, block_size=256, n_embd=48)
    html = show_attention(model, tok, text)._repr_html_()
    stored = 6 * 6 * 256 * 257 // 2
    assert len(html.encode()) <= 4 / 3 * stored + 64 * 1024
    with capsys.disabled():
        print(f"\n256 tokens, 6 layers x 6 heads: {len(html.encode()):,} bytes of HTML "
              f"({stored:,} weights stored)")


# ------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("weights, kwargs, message", [
    (np.zeros((2, 3, 3)), {}, "shape"),                                  # no head axis
    (np.tril(np.ones((1, 1, 4, 4))) / np.arange(1, 5)[:, None], {}, "3 tokens"),   # wrong T
    (np.ones((1, 1, 3, 3)) / 3, {}, "above the diagonal"),               # not causal
    (np.tril(np.ones((1, 1, 3, 3))), {}, "sum to 1"),                    # not a softmax
    (np.full((1, 1, 3, 3), np.nan), {}, "NaN"),
    (np.eye(3)[None, None], {"layer": 1}, "layer 1"),
    (np.eye(3)[None, None], {"head": -1}, "head -1"),
    (np.eye(3)[None, None], {"mode": "lines"}, "mode"),
    (np.eye(3)[None, None], {"steps": [0]}, "shape"),                    # steps need a step axis
    (np.eye(3)[None, None, None], {"steps": [0, 10]}, "2 steps"),
])
def test_bad_input_raises_a_clear_value_error(weights, kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttentionExplorer(["a", "b", "c"], weights, **kwargs)


def test_empty_tokens_raise():
    with pytest.raises(ValueError, match="no tokens"):
        AttentionExplorer([], np.zeros((1, 1, 0, 0)))


def test_text_longer_than_the_context_raises(model, tok):
    with pytest.raises(ValueError, match="block_size=64"):
        show_attention(model, tok, TEXT * 2)
    with pytest.raises(ValueError, match="empty"):
        show_attention(model, tok, "")


# ------------------------------------------------------------------------------------ snapshots
def test_snapshots_record_during_training(tok):
    model = tiny_gpt(tok.vocab_size, block_size=16)
    ids = torch.tensor(tok.encode(TEXT * 4))
    snapshots = AttentionSnapshots(model, tok, "to be, or not")
    with pytest.raises(ValueError, match="no snapshots"):
        snapshots.explorer()
    snapshots.record(0, label="init")
    cfg = TrainConfig(max_steps=6, batch_size=4, lr=1e-2, warmup_steps=0, eval_interval=3,
                      eval_iters=1, progress=False)
    Trainer(model, cfg, get_runtime(device="cpu", precision="fp32"), train_data=ids, val_data=ids,
            on_eval=snapshots.on_eval).fit()
    assert snapshots.steps == [0, 3, 6] and len(snapshots) == 3
    assert snapshots.labels[0] == "init" and snapshots.labels[1].startswith("val loss ")
    # The last snapshot is the trained model's attention; training changed it.
    final = model.attention_weights(torch.tensor(tok.encode("to be, or not"))).numpy()
    np.testing.assert_allclose(snapshots.weights[-1], final, atol=1e-6)
    assert np.abs(snapshots.weights[0] - snapshots.weights[-1]).max() > 1 / LEVELS

    ex = snapshots.explorer(layer=1)
    data = embedded(ex._repr_html_())[0]
    assert data["steps"] == [0, 3, 6] and data["step"] == 2           # opens on the last step
    np.testing.assert_allclose(decode(data), np.stack(snapshots.weights), atol=1 / LEVELS + 1e-6)
    assert ex.weights.shape == (3, 2, 2, 13, 13)


# ------------------------------------------------------------------------------------ live widget
def test_interactive_is_static_outside_a_live_front_end(model, tok):
    # pytest is not a Jupyter front end: no text box, just the static explorer.
    assert isinstance(interactive(model, tok, TEXT), AttentionExplorer)


def test_interactive_widget_reruns_the_model(model, tok, capsys):
    import ipywidgets as widgets
    seen = []                                     # the token ids of every forward pass
    hook = model.register_forward_hook(lambda module, args, output: seen.append(args[0].flatten().tolist()))
    try:
        box = interactive(model, tok, TEXT, live=True)
        text, out = box.children
        assert isinstance(text, widgets.Text) and isinstance(out, widgets.Output)
        assert text.value == TEXT
        assert seen == [tok.encode(TEXT)]         # the first explorer ran the model once
        text.value = "not to be"                  # what pressing Enter in the box does
        assert seen == [tok.encode(TEXT), tok.encode("not to be")], "the new text did not reach the model"
        capsys.readouterr()
        text.value = TEXT * 3                     # too long: the model's error, not a crash
        assert len(seen) == 2                     # refused before the forward pass, and said why
        assert "block_size=64" in capsys.readouterr().out
    finally:
        hook.remove()
