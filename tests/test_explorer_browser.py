"""The attention explorer in a real browser: headless Chromium driven by Playwright.

One standalone page holds three explorers of a small GPT trained for a few steps here: A and B
(two texts) and C (attention snapshots during training, with a step slider). Every test opens the
page afresh, interacts with it like a reader, and reads back what the page shows (the data-weight
of each shaded token, the tooltip of a heatmap cell) to compare with the model's own weights.
The page must not make a single network request.

Needs Debian's chromium at /usr/bin/chromium (CI installs it; never `playwright install`).
Without it the tests skip, unless GPTLIB_REQUIRE_BROWSER=1 (set by .ci/run): then they fail.
"""
import os
import re

import numpy as np
import pytest
import torch

from gptlib import GPT, CharTokenizer, GPTConfig, TrainConfig, Trainer, get_runtime
from gptlib.explorer import LEVELS, AttentionSnapshots, html_page, show_attention

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser]
try:
    from playwright import sync_api
except ImportError:
    sync_api = None

# Offline and quiet: no GPU, no background services, and every host name fails to resolve.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost"]
# A shown weight is level/255 printed with 4 decimals (data-weight) or 3 (tooltips).
TOL = 1 / LEVELS + 5e-4

CORPUS = ("First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. "
          "First Citizen: You are all resolved rather to die than to famish? All: Resolved. resolved. ")
TEXT_A = "You are all resolved rather to die than to famish?"
TEXT_B = "Before we proceed any further, hear me speak."
TEXT_C = "All: Speak, speak."


@pytest.fixture(scope="module")
def trained():
    """A 2-layer, 2-head character GPT trained for a few steps, with attention snapshots."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)           # a tiny model: threads would only wait for each other
    torch.manual_seed(0)
    tok = CharTokenizer.from_text(CORPUS)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=32))
    for block in model.blocks:         # sharper than GPT-2's init, so that heads differ from step 0
        torch.nn.init.normal_(block.attn.c_attn.weight, std=0.3)
    snapshots = AttentionSnapshots(model, tok, TEXT_C)
    snapshots.record(0, label="random init")
    ids = torch.tensor(tok.encode(CORPUS * 3))
    cfg = TrainConfig(max_steps=30, batch_size=8, lr=3e-2, warmup_steps=0, eval_interval=10,
                      eval_iters=1, progress=False)
    Trainer(model, cfg, get_runtime(device="cpu", precision="fp32"), train_data=ids, val_data=ids,
            on_eval=snapshots.on_eval).fit()
    torch.set_num_threads(before)
    return tok, model, snapshots


def model_weights(model, tok, text):
    return model.attention_weights(torch.tensor(tok.encode(text))).numpy()


@pytest.fixture(scope="module")
def page_file(trained, tmp_path_factory):
    tok, model, snapshots = trained
    page = html_page(show_attention(model, tok, TEXT_A, title="A"),
                     show_attention(model, tok, TEXT_B, layer=1, head=1, title="B"),
                     snapshots.explorer(title="C: during training"))
    path = tmp_path_factory.mktemp("explorer") / "two_explorers.html"
    path.write_text(page, encoding="utf-8")
    return path


def missing_browser():
    """Why the browser tests cannot run here, or None when they can."""
    if sync_api is None:
        return "needs the playwright Python package (pip install -r requirements-dev.txt)"
    if not os.path.exists(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt install chromium)"
    return None


@pytest.fixture(scope="module", autouse=True)
def needs_browser(require_browser):
    """Skip every test here without a browser (before training the model), or fail under CI."""
    why = missing_browser()
    if why and require_browser:
        pytest.fail(f"GPTLIB_REQUIRE_BROWSER is set but the browser tests cannot run: {why}", pytrace=False)
    if why:
        pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, path, requests, errors, **options):
    page = browser.new_page(viewport={"width": 1000, "height": 900}, **options)
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_function("[...document.querySelectorAll('.gptlib-attention')]"
                           ".every(e => e.dataset.ready === '1')")
    return page


@pytest.fixture
def page(browser, page_file):
    """The page, freshly loaded. Afterwards: no script errors and no request but the page itself."""
    requests, errors = [], []
    page = open_page(browser, page_file, requests, errors)
    yield page
    page.close()
    assert errors == []
    assert requests == [page_file.as_uri()], f"the page made network requests: {requests}"


def explorer(page, title):
    """The explorer whose title starts with ``title``."""
    return page.locator(".gptlib-attention",
                        has=page.locator(".gpa-title", has_text=re.compile("^" + re.escape(title))))


def shown_weights(root) -> list:
    """What the tokens view shows: each token's data-weight (None: after the query)."""
    return root.locator(".gpa-tok").evaluate_all(
        "els => els.map(e => e.hasAttribute('data-weight') ? +e.getAttribute('data-weight') : null)")


def assert_shows_row(root, row: np.ndarray, query: int):
    got = shown_weights(root)
    assert got[query + 1:] == [None] * (len(got) - query - 1)       # later tokens are masked
    np.testing.assert_allclose(np.array(got[:query + 1]), row[:query + 1], atol=TOL)
    assert root.get_attribute("data-query") == str(query)


def state(root) -> dict:
    return {k: root.get_attribute(f"data-{k}") for k in ("layer", "head", "step", "mode", "query")}


# ------------------------------------------------------------------------------------- tests
def test_the_script_draws_every_explorer(page, trained):
    tok, model, _ = trained
    for title, text, (layer, head) in (("A", TEXT_A, (0, 0)), ("B", TEXT_B, (1, 1))):
        root = explorer(page, title)
        assert root.locator(".gpa-nojs").count() == 0                  # the no-JavaScript note is gone
        assert root.locator(".gpa-tok").all_text_contents() == list(text)
        assert root.locator("select.gpa-layer option").count() == 2
        assert root.locator("select.gpa-head option").count() == 2
        assert state(root)["layer"] == str(layer) and state(root)["head"] == str(head)
        # It opens on the last token, already shaded.
        T = len(text)
        assert_shows_row(root, model_weights(model, tok, text)[layer, head, T - 1], T - 1)
        assert root.locator(".gpa-tok[tabindex='0']").count() == 1      # one Tab stop, arrows inside
        assert "attends most to" in root.locator(".gpa-status").text_content()


def test_hovering_a_token_shows_the_weights_it_gives(page, trained):
    tok, model, _ = trained
    w = model_weights(model, tok, TEXT_A)
    root = explorer(page, "A")
    for k in (0, 7, 20):
        root.locator(".gpa-tok").nth(k).hover()
        assert_shows_row(root, w[0, 0, k], k)
    # The tooltip of each earlier token reads that weight too.
    title = root.locator(".gpa-tok").nth(3).get_attribute("title")
    assert abs(float(title.rsplit(":", 1)[1]) - w[0, 0, 20, 3]) <= TOL


def test_switching_head_shows_that_heads_weights(page, trained):
    tok, model, _ = trained
    w = model_weights(model, tok, TEXT_A)
    k = 30
    assert np.abs(w[0, 0, k] - w[0, 1, k]).max() > 0.05                # the heads do differ here
    root = explorer(page, "A")
    root.locator("select.gpa-head").select_option("1")
    assert state(root)["head"] == "1"
    root.locator(".gpa-tok").nth(k).hover()
    assert_shows_row(root, w[0, 1, k], k)
    root.locator("select.gpa-layer").select_option("1")
    root.locator(".gpa-tok").nth(k - 1).hover()
    assert_shows_row(root, w[1, 1, k - 1], k - 1)


def test_clicking_an_overview_thumbnail_opens_that_layer_and_head(page, trained):
    tok, model, _ = trained
    w = model_weights(model, tok, TEXT_A)
    root = explorer(page, "A")
    root.locator("button[data-mode=overview]").click()
    assert state(root)["mode"] == "overview"
    thumbs = root.locator(".gpa-thumb")
    assert thumbs.count() == 4 and thumbs.first.is_visible()
    # Each thumbnail is painted: its pixels are not all the same.
    distinct = thumbs.nth(3).locator("canvas").evaluate(
        "c => new Set(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).size")
    assert distinct > 10
    root.locator(".gpa-thumb[data-layer='1'][data-head='0']").click()
    assert state(root)["mode"] == "tokens" and state(root)["layer"] == "1" and state(root)["head"] == "0"
    assert root.locator("select.gpa-layer").input_value() == "1"
    root.locator(".gpa-tok").nth(12).hover()
    assert_shows_row(root, w[1, 0, 12], 12)


def test_heatmap_cells_report_their_weights(page, trained):
    tok, model, _ = trained
    w = model_weights(model, tok, TEXT_A)
    root = explorer(page, "A")
    root.locator("button[data-mode=heatmap]").click()
    heat = root.locator("canvas.gpa-heat")
    assert heat.is_visible() and root.locator(".gpa-tokens").is_hidden()
    left, top, cell = (int(v) for v in heat.get_attribute("data-grid").split(","))
    for q, k in ((20, 5), (40, 40), (45, 0)):
        heat.hover(position={"x": left + (k + 0.5) * cell, "y": top + (q + 0.5) * cell})
        assert heat.get_attribute("data-cursor") == f"{q},{k}"
        tip = root.locator(".gpa-tip").text_content()
        assert abs(float(tip.rsplit(":", 1)[1]) - w[0, 0, q, k]) <= TOL
    # Keys after the query are masked.
    heat.hover(position={"x": left + 30.5 * cell, "y": top + 10.5 * cell})
    assert "masked" in root.locator(".gpa-tip").text_content()
    # Keyboard: the cursor moves with the arrow keys and the status line reads the weight.
    heat.focus()
    heat.press("ArrowUp")
    q, k = (int(v) for v in heat.get_attribute("data-cursor").split(","))
    status = root.locator(".gpa-status").text_content()
    assert abs(float(status.rsplit(":", 1)[1]) - w[0, 0, q, k]) <= TOL


def test_keyboard_moves_pins_and_unpins_the_query(page, trained):
    tok, model, _ = trained
    w = model_weights(model, tok, TEXT_A)
    root = explorer(page, "A")
    T = len(TEXT_A)
    first = root.locator(".gpa-tok[tabindex='0']")
    first.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert_shows_row(root, w[0, 0, T - 3], T - 3)
    assert root.locator(".gpa-tok").nth(T - 3).evaluate("e => e === document.activeElement")
    page.keyboard.press("Enter")                                       # pin it
    assert "gpa-pinned" in root.locator(".gpa-tok").nth(T - 3).get_attribute("class")
    page.keyboard.press("Home")                                        # inspect token 0, query stays
    assert_shows_row(root, w[0, 0, T - 3], T - 3)
    status = root.locator(".gpa-status").text_content()                # "#47 “a” → #0 “Y”: 0.013"
    assert "→ #0" in status and abs(float(status.rsplit(":", 1)[1]) - w[0, 0, T - 3, 0]) <= TOL
    root.locator(".gpa-tok").nth(5).hover()                            # hovering does not move a pin
    assert state(root)["query"] == str(T - 3)
    page.keyboard.press("Escape")                                      # unpin: the focused token leads
    assert_shows_row(root, w[0, 0, 0], 0)
    assert root.locator(".gpa-tok").nth(0).get_attribute("aria-label")


def test_the_other_explorers_are_unaffected(page, trained):
    tok, model, _ = trained
    b, c = explorer(page, "B"), explorer(page, "C")
    before_b, before_c = state(b), state(c)
    weights_b, weights_c = shown_weights(b), shown_weights(c)
    a = explorer(page, "A")
    a.locator(".gpa-tok").nth(4).click()
    a.locator("select.gpa-head").select_option("1")
    a.locator("button[data-mode=overview]").click()
    a.locator(".gpa-thumb[data-layer='1'][data-head='1']").click()
    a.locator("button[data-mode=heatmap]").click()
    assert state(a)["mode"] == "heatmap"
    assert state(b) == before_b and state(c) == before_c
    assert shown_weights(b) == weights_b and shown_weights(c) == weights_c
    assert b.locator("select.gpa-head").input_value() == "1"
    assert b.locator(".gpa-tokens").is_visible()


def test_the_step_slider_replays_training(page, trained):
    _, _, snapshots = trained
    root = explorer(page, "C")
    T = len(TEXT_C)
    slider = root.locator("input.gpa-step")
    assert snapshots.steps == [0, 10, 20, 30]
    assert state(root)["step"] == "3"                                  # opens on the last snapshot
    assert_shows_row(root, snapshots.weights[3][0, 0, T - 1], T - 1)
    assert "30" in root.locator(".gpa-steplabel").text_content()
    slider.focus()
    page.keyboard.press("Home")
    assert state(root)["step"] == "0"
    assert root.locator(".gpa-steplabel").text_content() == "0 · random init"
    assert_shows_row(root, snapshots.weights[0][0, 0, T - 1], T - 1)
    page.keyboard.press("ArrowRight")
    assert state(root)["step"] == "1" and "val loss" in root.locator(".gpa-steplabel").text_content()
    assert_shows_row(root, snapshots.weights[1][0, 0, T - 1], T - 1)
    # Training moved this row by more than the rounding, so the slider visibly changed it.
    assert np.abs(snapshots.weights[0][0, 0, T - 1] - snapshots.weights[3][0, 0, T - 1]).max() > 3 * TOL
    # The slider also drives the heatmap.
    root.locator("button[data-mode=heatmap]").click()
    heat = root.locator("canvas.gpa-heat")
    left, top, cell = (int(v) for v in heat.get_attribute("data-grid").split(","))
    heat.hover(position={"x": left + 0.5 * cell, "y": top + (T - 0.5) * cell})
    tip = root.locator(".gpa-tip").text_content()
    assert abs(float(tip.rsplit(":", 1)[1]) - snapshots.weights[1][0, 0, T - 1, 0]) <= TOL


def test_explorers_add_no_globals(browser, page, page_file):
    empty = page_file.with_name("empty.html")
    empty.write_text("<!DOCTYPE html><title>empty</title>")
    blank = browser.new_page()
    blank.goto(empty.as_uri())
    before = set(blank.evaluate("Object.keys(window)"))
    blank.close()
    assert set(page.evaluate("Object.keys(window)")) - before == set()


def test_no_network_requests_in_any_view(browser, page_file):
    requests, errors = [], []
    page = open_page(browser, page_file, requests, errors)
    for root in page.locator(".gptlib-attention").all():
        for mode in ("heatmap", "overview", "tokens"):
            root.locator(f"button[data-mode={mode}]").click()
        root.locator(".gpa-tok").nth(3).hover()
    page.close()
    assert requests == [page_file.as_uri()] and errors == []


def test_light_and_dark_themes(browser, page_file):
    def colors(page):
        return explorer(page, "A").evaluate(
            "e => ['--gpa-bg', '--gpa-fg'].map(v => getComputedStyle(e).getPropertyValue(v).trim())")
    requests, errors = [], []
    light = open_page(browser, page_file, requests, errors, color_scheme="light")
    dark = open_page(browser, page_file, requests, errors, color_scheme="dark")
    assert colors(light) == ["#ffffff", "#1f2328"]
    assert colors(dark) == ["#161b22", "#e6edf3"]
    # The book's theme switch (html[data-theme]) wins over the operating system's setting,
    # and the canvases are redrawn in the new colours.
    root = explorer(light, "A")
    root.locator("button[data-mode=heatmap]").click()
    corner = "c => Array.from(c.getContext('2d').getImageData(0, 0, 1, 1).data)"
    assert root.locator("canvas.gpa-heat").evaluate(corner)[:3] == [255, 255, 255]
    light.evaluate("document.documentElement.setAttribute('data-theme', 'dark')")
    assert colors(light)[0] == "#161b22"
    light.wait_for_function("c => c.getContext('2d').getImageData(0, 0, 1, 1).data[0] === 0x16",
                            arg=root.locator("canvas.gpa-heat").element_handle())
    dark.evaluate("document.documentElement.setAttribute('data-theme', 'light')")
    assert colors(dark)[0] == "#ffffff"
    light.close()
    dark.close()
    assert errors == []


def test_a_large_explorer_is_small_and_draws_fast(browser, tmp_path):
    """256 tokens, 6 layers × 6 heads (the book's GPU-profile Shakespeare model's shape).
    Prints the HTML size and the draw times the page measured with performance.now()."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    text = (CORPUS * 3)[:256]
    tok = CharTokenizer.from_text(text)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=256, n_layer=6, n_head=6, n_embd=48))
    for block in model.blocks:
        torch.nn.init.normal_(block.attn.c_attn.weight, std=0.3)
    ex = show_attention(model, tok, text, title="256 tokens")
    w = model_weights(model, tok, text)
    torch.set_num_threads(before)
    path = tmp_path / "large.html"
    ex.save(path)
    size = path.stat().st_size
    assert size <= 4 / 3 * 6 * 6 * 256 * 257 / 2 + 64 * 1024           # see test_explorer.py

    requests, errors = [], []
    page = open_page(browser, path, requests, errors)
    root = page.locator(".gptlib-attention")
    render_ms = float(root.get_attribute("data-render-ms"))
    assert root.locator(".gpa-tok").count() == 256
    root.locator(".gpa-tok").nth(200).hover()
    assert_shows_row(root, w[0, 0, 200], 200)
    hover_ms = float(root.get_attribute("data-draw-ms"))
    root.locator("button[data-mode=heatmap]").click()
    heatmap_ms = float(root.get_attribute("data-draw-ms"))
    root.locator("button[data-mode=overview]").click()
    overview_ms = float(root.get_attribute("data-overview-ms"))
    root.locator(".gpa-thumb[data-layer='5'][data-head='5']").click()
    assert root.get_attribute("data-mode") == "heatmap"                # the last detail view
    root.locator("button[data-mode=tokens]").click()
    root.locator(".gpa-tok").nth(255).hover()
    assert_shows_row(root, w[5, 5, 255], 255)
    page.close()
    assert requests == [path.as_uri()] and errors == []
    print(f"\n256 tokens, 6 layers x 6 heads: {size:,} bytes of HTML; first render {render_ms:.1f} ms "
          f"(decode + tokens view), hover {hover_ms:.1f} ms, heatmap {heatmap_ms:.1f} ms, "
          f"all 36 thumbnails {overview_ms:.1f} ms")
    # Generous bounds (a loaded CI machine); typically these are tens of milliseconds.
    assert render_ms < 3000 and heatmap_ms < 1000 and overview_ms < 3000
