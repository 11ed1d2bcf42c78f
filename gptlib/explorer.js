/* gptlib's attention explorer: the script behind gptlib/explorer.py.

   This file is one function expression. Python embeds it in every explorer's HTML and calls it with
   that explorer's root element (div.gptlib-attention), so explorers on one page share nothing: no
   globals, no network, all state lives in this closure.

   The data sits next to this script, as JSON in the explorer's script element of class gpa-data:
     tokens                 T display strings
     n_layer, n_head, T     the shape
     steps, step_labels     null, or one training step (and a note) per snapshot
     layer, head, mode, step    what to show first
     levels                 255: a weight is level / 255
     weights                base64 bytes: the causal lower triangle only, ordered
                            [step][layer][head][query i][key j <= i]
     encoding               "raw", or "deflate" when those bytes are zlib-compressed

   Drawing: tokens are a few hundred <span>s; heatmaps are <canvas> images with one pixel per
   weight (alpha = weight), scaled up, so even 36 heads of 256 tokens draw in milliseconds.
   The explorer reports its state on the DOM, for the tests (tests/test_explorer_browser.py):
   data-layer, data-head, data-step, data-mode, data-query on the root, data-weight on each shaded
   token, data-grid ("left,top,cell" in CSS pixels) and data-cursor ("query,key") on the heatmap,
   and how long drawing took (data-render-ms, data-draw-ms, data-overview-ms). */
(function (root) {
  "use strict";
  if (!root || root.getAttribute("data-started")) return;   // this explorer is already running
  root.setAttribute("data-started", "1");
  var now = function () { return window.performance ? performance.now() : Date.now(); };
  var t0 = now();

  var data = JSON.parse(root.querySelector("script.gpa-data").textContent);
  if (data.version !== 1) throw new Error("gptlib explorer: unknown data version " + data.version);
  var T = data.T, L = data.n_layer, H = data.n_head, LEVELS = data.levels;
  var PER_HEAD = T * (T + 1) / 2;
  var steps = data.steps || [null];
  var bytes = null;        // the weight levels, once decoded (see the end of this file)

  var state = {
    step: data.step, layer: data.layer, head: data.head, mode: data.mode,
    detail: data.mode === "overview" ? "tokens" : data.mode,  // the view a thumbnail opens
    query: T - 1,          // the token whose attention is shown
    pinned: null,          // a clicked token stays the query until unpinned
    cell: null             // heatmap cursor {q, k}
  };

  // ------------------------------------------------------------------------------- weights
  function rowStart(i) {   // index of weight (query i, key 0) of the current step/layer/head
    return ((state.step * L + state.layer) * H + state.head) * PER_HEAD + i * (i + 1) / 2;
  }
  function level(i, j) { return j > i ? 0 : bytes[rowStart(i) + j]; }
  function fmt(lvl) { return (lvl / LEVELS).toFixed(3); }

  // ------------------------------------------------------------------------------- helpers
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function shown(tok) {    // make whitespace visible: a newline or tab token is not blank
    if (tok === "") return "∅";
    return tok.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, "␍");
  }
  function quoted(i) { return "#" + i + " “" + shown(data.tokens[i]) + "”"; }
  function cssColor(name) {   // any CSS colour of a custom property → [r, g, b, a] (0..255)
    var c = document.createElement("canvas"); c.width = c.height = 1;
    var ctx = c.getContext("2d");
    ctx.fillStyle = getComputedStyle(root).getPropertyValue(name).trim() || "#888";
    ctx.fillRect(0, 0, 1, 1);
    return ctx.getImageData(0, 0, 1, 1).data;
  }
  var colors = null;       // read from the CSS theme; reset when the theme changes
  function theme() {
    if (!colors) colors = { accent: cssColor("--gpa-accent"), masked: cssColor("--gpa-masked"),
      bg: cssColor("--gpa-bg"), fg: getComputedStyle(root).getPropertyValue("--gpa-fg").trim(),
      muted: getComputedStyle(root).getPropertyValue("--gpa-muted").trim(),
      focus: getComputedStyle(root).getPropertyValue("--gpa-focus").trim() };
    return colors;
  }
  function rgb(c) { return "rgb(" + c[0] + "," + c[1] + "," + c[2] + ")"; }

  /* One head as a T×T image, one pixel per weight: the accent colour with alpha = weight below
     the diagonal, the "masked" colour above it (a GPT never looks at later tokens).
     A smaller image (n < T, for the thumbnails) keeps the largest weight of each block of
     cells, so one strong weight stays visible instead of being averaged away. */
  function headImage(step, layer, head, n) {
    n = n || T;
    var top = new Uint8Array(n * n);    // per pixel: the largest level in its block
    var seen = new Uint8Array(n * n);   // per pixel: 1 if its block has a causal (unmasked) cell
    var base = ((step * L + layer) * H + head) * PER_HEAD;
    for (var i = 0; i < T; i++) {
      var row = Math.floor(i * n / T) * n;
      for (var j = 0; j <= i; j++) {
        var p = row + Math.floor(j * n / T), v = bytes[base + j];
        if (v > top[p]) top[p] = v;
        seen[p] = 1;
      }
      base += i + 1;
    }
    var c = document.createElement("canvas"); c.width = c.height = n;
    var ctx = c.getContext("2d"), img = ctx.createImageData(n, n), px = img.data;
    var a = theme().accent, m = theme().masked;
    for (var q = 0; q < n * n; q++) {
      var color = seen[q] ? a : m;
      px[4 * q] = color[0]; px[4 * q + 1] = color[1]; px[4 * q + 2] = color[2];
      px[4 * q + 3] = seen[q] ? Math.round(top[q] * 255 / LEVELS) : 255;
    }
    ctx.putImageData(img, 0, 0);
    return c;
  }
  function hidpi(canvas, w, h) {   // a canvas of w×h CSS pixels, sharp on high-density screens
    var r = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * r); canvas.height = Math.round(h * r);
    canvas.style.width = w + "px"; canvas.style.height = h + "px";
    var ctx = canvas.getContext("2d");
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return ctx;
  }

  // ------------------------------------------------------------------------------- layout
  var uid = root.id || ("gpa-" + Math.random().toString(36).slice(2));
  var ui = el("div", { "class": "gpa-ui" });
  if (data.title) ui.appendChild(el("div", { "class": "gpa-title" }, data.title));

  var controls = el("div", { "class": "gpa-controls" });
  function picker(name, n) {
    var label = el("label", { "for": uid + "-" + name }, name[0].toUpperCase() + name.slice(1) + " ");
    var select = el("select", { id: uid + "-" + name, "class": "gpa-" + name });
    for (var i = 0; i < n; i++) select.appendChild(el("option", { value: i }, String(i)));
    label.appendChild(select);
    controls.appendChild(label);
    return select;
  }
  var layerSelect = picker("layer", L), headSelect = picker("head", H);

  var modes = el("div", { "class": "gpa-modes", role: "group", "aria-label": "View" });
  var modeButtons = {};
  [["tokens", "Tokens"], ["heatmap", "Heatmap"], ["overview", "All heads"]].forEach(function (m) {
    var b = el("button", { type: "button", "data-mode": m[0] }, m[1]);
    modeButtons[m[0]] = b;
    modes.appendChild(b);
  });
  controls.appendChild(modes);

  var slider = null, stepLabel = null;
  if (data.steps) {
    var box = el("label", { "class": "gpa-stepbox", "for": uid + "-step" }, "Training step ");
    slider = el("input", { type: "range", id: uid + "-step", "class": "gpa-step", min: 0,
                           max: steps.length - 1, step: 1, value: state.step });
    stepLabel = el("output", { "class": "gpa-steplabel", "for": uid + "-step" });
    box.appendChild(slider); box.appendChild(stepLabel);
    controls.appendChild(box);
  }
  ui.appendChild(controls);

  // Tokens view: one focusable span per token; only one is in the Tab order (roving tabindex).
  var tokensPanel = el("div", { "class": "gpa-panel gpa-tokens-panel" });
  tokensPanel.appendChild(el("p", { "class": "gpa-help" },
    "Hover over a token (or Tab to the tokens, then ←/→) to shade the earlier tokens by the " +
    "attention it gives them. Click or press Enter to pin it, then hover over the others for " +
    "exact weights."));
  var tokenBox = el("div", { "class": "gpa-tokens", role: "group",
                             "aria-label": "Tokens: arrow keys move, Enter pins the query" });
  var tokenEls = data.tokens.map(function (tok, i) {
    var span = el("span", { "class": "gpa-tok", role: "button", tabindex: -1, "data-index": i });
    span.appendChild(el("span", { "class": "gpa-txt" }, shown(tok)));
    tokenBox.appendChild(span);
    if (tok.indexOf("\n") >= 0) tokenBox.appendChild(el("br"));
    return span;
  });
  tokensPanel.appendChild(tokenBox);

  // Heatmap view: one canvas, redrawn from a cached picture of the current head on hover.
  var heatPanel = el("div", { "class": "gpa-panel gpa-heat-panel" });
  heatPanel.appendChild(el("p", { "class": "gpa-help" },
    "Row i: how query token i spreads its attention over the keys (columns) 0..i. " +
    "Hover, or focus the map and use the arrow keys, to read a weight; click a row to pin that query."));
  var heatWrap = el("div", { "class": "gpa-heatwrap" });
  var heat = el("canvas", { "class": "gpa-heat", tabindex: 0, role: "img" });
  heatWrap.appendChild(heat);
  heatPanel.appendChild(heatWrap);

  // Overview: one thumbnail button per (layer, head), drawn the first time it is opened.
  var overPanel = el("div", { "class": "gpa-panel gpa-overview-panel" });
  overPanel.appendChild(el("p", { "class": "gpa-help" },
    "Every layer (rows) and head (columns). Click one to open it."));
  var grid = el("div", { "class": "gpa-grid", role: "group", "aria-label": "All layers and heads" });
  grid.style.gridTemplateColumns = "auto repeat(" + H + ", max-content)";
  grid.appendChild(el("span"));
  for (var h0 = 0; h0 < H; h0++) grid.appendChild(el("span", { "class": "gpa-axis" }, "head " + h0));
  var thumbs = [];
  for (var l = 0; l < L; l++) {
    grid.appendChild(el("span", { "class": "gpa-axis" }, "layer " + l));
    for (var h = 0; h < H; h++) {
      var b = el("button", { type: "button", "class": "gpa-thumb", "data-layer": l, "data-head": h,
                             "aria-label": "Open layer " + l + ", head " + h });
      b.appendChild(el("canvas"));
      grid.appendChild(b);
      thumbs.push(b);
    }
  }
  overPanel.appendChild(grid);

  var panels = { tokens: tokensPanel, heatmap: heatPanel, overview: overPanel };
  ui.appendChild(tokensPanel); ui.appendChild(heatPanel); ui.appendChild(overPanel);
  var status = el("div", { "class": "gpa-status", role: "status", "aria-live": "polite" });
  ui.appendChild(status);
  var tip = el("div", { "class": "gpa-tip", role: "tooltip", hidden: "" });
  ui.appendChild(tip);

  // ------------------------------------------------------------------------------- tokens view
  function describeQuery(i) {   // status line: where token i looks most
    var order = [];
    for (var j = 0; j <= i; j++) order.push(j);
    order.sort(function (a, b) { return level(i, b) - level(i, a) || a - b; });
    var top = order.slice(0, 5).map(function (j) { return quoted(j) + " " + fmt(level(i, j)); });
    return "Layer " + state.layer + ", head " + state.head + ": " + quoted(i) +
      (state.pinned === i ? " (pinned)" : "") + " attends most to " + top.join(", ") + ".";
  }
  function showQuery(i) {
    state.query = i;
    root.setAttribute("data-query", i);
    for (var j = 0; j < T; j++) {
      var t = tokenEls[j];
      t.classList.toggle("gpa-query", j === i);
      t.classList.toggle("gpa-pinned", j === state.pinned);
      if (j <= i) {
        var lvl = level(i, j), w = lvl / LEVELS;
        t.style.setProperty("--gpa-w", w.toFixed(3));
        t.classList.remove("gpa-future");
        t.classList.toggle("gpa-strong", w > 0.55);
        t.setAttribute("data-weight", w.toFixed(4));
        t.title = quoted(i) + " → " + quoted(j) + ": " + fmt(lvl);
        t.setAttribute("aria-label", quoted(j) + ", weight " + fmt(lvl) + " from " + quoted(i));
      } else {
        t.style.setProperty("--gpa-w", "0");
        t.classList.add("gpa-future");
        t.classList.remove("gpa-strong");
        t.removeAttribute("data-weight");
        t.title = quoted(j) + " comes after " + quoted(i) + ": masked, a GPT cannot look ahead";
        t.setAttribute("aria-label", quoted(j) + ", after the query");
      }
    }
    status.textContent = describeQuery(i);
  }
  function tokenIndex(e) {
    var t = e.target.closest ? e.target.closest(".gpa-tok") : null;
    return t && tokenBox.contains(t) ? +t.getAttribute("data-index") : null;
  }
  function inspect(j) {   // a pinned query: report the weight it gives token j
    status.textContent = quoted(state.pinned) + " → " + quoted(j) + ": " +
      (j <= state.pinned ? fmt(level(state.pinned, j)) : "masked (a later token)");
  }
  function pin(i) {
    state.pinned = state.pinned === i ? null : i;
    showQuery(i);
  }
  function focusToken(i) {
    tokenEls.forEach(function (t, j) { t.tabIndex = j === i ? 0 : -1; });
    tokenEls[i].focus();
  }
  tokenBox.addEventListener("mouseover", function (e) {
    var i = tokenIndex(e);
    if (i === null) return;
    if (state.pinned === null) showQuery(i); else inspect(i);
  });
  tokenBox.addEventListener("mouseleave", function () {
    showQuery(state.pinned === null ? state.query : state.pinned);
  });
  tokenBox.addEventListener("click", function (e) {
    var i = tokenIndex(e);
    if (i !== null) { pin(i); focusToken(i); }
  });
  tokenBox.addEventListener("focusin", function (e) {
    var i = tokenIndex(e);
    if (i === null) return;
    tokenEls.forEach(function (t, j) { t.tabIndex = j === i ? 0 : -1; });
    if (state.pinned === null) showQuery(i); else inspect(i);
  });
  tokenBox.addEventListener("keydown", function (e) {
    var i = tokenIndex(e);
    if (i === null) return;
    var next = { ArrowLeft: i - 1, ArrowUp: i - 1, ArrowRight: i + 1, ArrowDown: i + 1,
                 Home: 0, End: T - 1 }[e.key];
    if (next !== undefined) {
      focusToken(Math.max(0, Math.min(T - 1, next)));
      e.preventDefault();
    } else if (e.key === "Enter" || e.key === " ") {
      pin(i); e.preventDefault();
    } else if (e.key === "Escape" && state.pinned !== null) {
      state.pinned = null; showQuery(i);
    }
  });

  // ------------------------------------------------------------------------------- heatmap view
  // Geometry and a cached picture of the current head: {key, cell, left, top, w, h, picture}.
  var hm = null;
  var FONT = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
  var margin = null;   // room for the token labels: the widest label, measured once
  function heatLayout() {
    if (margin === null) {
      var ctx = heat.getContext("2d"), widest = 0;
      ctx.font = FONT;
      data.tokens.forEach(function (t) { widest = Math.max(widest, ctx.measureText(label(t)).width); });
      margin = Math.ceil(widest) + 8;
    }
    var room = Math.min(720, Math.max(240, (root.clientWidth || 640) - margin - 32));
    var cell = Math.max(2, Math.min(24, Math.floor(room / T)));
    return { cell: cell, left: margin, top: margin, w: margin + cell * T + 2, h: margin + cell * T + 2,
             every: Math.ceil(13 / cell) };   // label every k-th token so labels do not overlap
  }
  function label(t) { t = shown(t); return t.length > 10 ? t.slice(0, 9) + "…" : t; }
  function drawHeatBase() {   // the picture without a cursor, redrawn only when something changed
    var key = [state.step, state.layer, state.head].join();
    var g = heatLayout();
    if (hm && hm.key === key && hm.cell === g.cell && hm.picture) return;
    var c = document.createElement("canvas"), ctx = hidpi(c, g.w, g.h), col = theme();
    ctx.fillStyle = rgb(col.bg); ctx.fillRect(0, 0, g.w, g.h);
    ctx.imageSmoothingEnabled = false;   // sharp cells, not a blur
    ctx.drawImage(headImage(state.step, state.layer, state.head), g.left, g.top, g.cell * T, g.cell * T);
    ctx.font = FONT; ctx.fillStyle = col.muted; ctx.textBaseline = "middle";
    for (var i = 0; i < T; i += g.every) {
      var mid = i * g.cell + g.cell / 2;
      ctx.textAlign = "right"; ctx.fillText(label(data.tokens[i]), g.left - 4, g.top + mid);
      ctx.save(); ctx.translate(g.left + mid, g.top - 4); ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left"; ctx.fillText(label(data.tokens[i]), 0, 0); ctx.restore();
    }
    g.key = key; g.picture = c; hm = g;
    heat.setAttribute("data-grid", [g.left, g.top, g.cell].join());   // where the cells are
    heat.setAttribute("aria-label", "Attention heatmap of layer " + state.layer + ", head " + state.head +
      ": rows are query tokens, columns are key tokens. Arrow keys move a cursor and read its weight.");
  }
  function drawHeat() {
    drawHeatBase();
    var ctx = hidpi(heat, hm.w, hm.h), col = theme();
    ctx.drawImage(hm.picture, 0, 0, hm.w, hm.h);
    var c = state.cell;
    if (!c) return;
    var x = hm.left + c.k * hm.cell, y = hm.top + c.q * hm.cell;
    ctx.fillStyle = col.focus; ctx.globalAlpha = 0.12;        // faint row and column guides
    ctx.fillRect(hm.left, y, hm.cell * T, hm.cell);
    ctx.fillRect(x, hm.top, hm.cell, hm.cell * T);
    ctx.globalAlpha = 1; ctx.strokeStyle = col.focus; ctx.lineWidth = 2;
    ctx.strokeRect(x - 1, y - 1, hm.cell + 2, hm.cell + 2);
    // The cursor's query and key labels, in bold, over the (possibly absent) plain ones.
    ctx.font = "bold " + FONT; ctx.textBaseline = "middle";
    ctx.fillStyle = rgb(col.bg); ctx.fillRect(0, y - 6 + hm.cell / 2, hm.left - 2, 13);
    ctx.fillStyle = col.fg; ctx.textAlign = "right";
    ctx.fillText(label(data.tokens[c.q]), hm.left - 4, y + hm.cell / 2);
    ctx.save(); ctx.translate(x + hm.cell / 2, hm.top - 4); ctx.rotate(-Math.PI / 2);
    ctx.fillStyle = rgb(col.bg); ctx.fillRect(0, -7, hm.top - 6, 13);
    ctx.fillStyle = col.fg; ctx.textAlign = "left"; ctx.fillText(label(data.tokens[c.k]), 0, 0);
    ctx.restore();
  }
  function cellText(q, k) {
    return quoted(q) + " → " + quoted(k) + ": " + (k <= q ? fmt(level(q, k)) : "masked (a later token)");
  }
  function setCell(q, k, px, py) {
    state.cell = { q: q, k: k };
    drawHeat();
    tip.textContent = cellText(q, k);
    tip.hidden = false;
    var box = heatWrap.getBoundingClientRect(), r = root.getBoundingClientRect();
    var x = px !== undefined ? px : box.left + hm.left + (k + 1) * hm.cell;
    var y = py !== undefined ? py : box.top + hm.top + (q + 1) * hm.cell;
    tip.style.left = Math.min(x - r.left + 14, Math.max(0, r.width - 260)) + "px";
    tip.style.top = (y - r.top + 14) + "px";
    status.textContent = cellText(q, k);
    heat.setAttribute("data-cursor", q + "," + k);
  }
  function cellAt(e) {
    var r = heat.getBoundingClientRect();
    var k = Math.floor((e.clientX - r.left - hm.left) / hm.cell);
    var q = Math.floor((e.clientY - r.top - hm.top) / hm.cell);
    return q >= 0 && q < T && k >= 0 && k < T ? { q: q, k: k } : null;
  }
  heat.addEventListener("mousemove", function (e) {
    var c = cellAt(e);
    if (c) setCell(c.q, c.k, e.clientX, e.clientY);
    else { tip.hidden = true; state.cell = null; drawHeat(); }
  });
  heat.addEventListener("mouseleave", function () { tip.hidden = true; state.cell = null; drawHeat(); });
  heat.addEventListener("click", function (e) {   // pin this row's query for the tokens view too
    var c = cellAt(e);
    if (c) { state.pinned = c.q; state.query = c.q; }
  });
  heat.addEventListener("keydown", function (e) {
    var c = state.cell || { q: state.query, k: state.query };
    var move = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
    if (!move) return;
    var q = Math.max(0, Math.min(T - 1, c.q + move[0]));
    var k = Math.max(0, Math.min(q, c.k + move[1]));          // keys after the query are masked
    setCell(q, k);
    e.preventDefault();
  });
  heat.addEventListener("focus", function () {
    var q = state.query;
    setCell(q, Math.min(q, state.cell ? state.cell.k : q));
  });
  heat.addEventListener("blur", function () { tip.hidden = true; });

  // ------------------------------------------------------------------------------- overview
  var overviewKey = null;
  function drawOverview() {
    var t1 = now();
    var size = Math.max(40, Math.min(96, Math.floor(((root.clientWidth || 640) - 80) / H) - 10));
    var key = state.step + "/" + size;
    if (overviewKey !== key) {
      thumbs.forEach(function (b) {
        var ctx = hidpi(b.firstChild, size, size);
        var pixels = Math.min(T, b.firstChild.width);
        ctx.fillStyle = rgb(theme().bg); ctx.fillRect(0, 0, size, size);
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(headImage(state.step, +b.getAttribute("data-layer"), +b.getAttribute("data-head"),
                                pixels), 0, 0, size, size);
      });
      overviewKey = key;
      root.setAttribute("data-overview-ms", (now() - t1).toFixed(1));
    }
    thumbs.forEach(function (b) {
      var on = +b.getAttribute("data-layer") === state.layer && +b.getAttribute("data-head") === state.head;
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  grid.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest(".gpa-thumb") : null;
    if (!b) return;
    state.layer = +b.getAttribute("data-layer");
    state.head = +b.getAttribute("data-head");
    state.mode = state.detail;
    render();
    (state.mode === "tokens" ? tokenEls[state.query] : heat).focus({ preventScroll: true });
  });

  // ------------------------------------------------------------------------------- controls
  function render() {
    var t1 = now();
    root.setAttribute("data-layer", state.layer);
    root.setAttribute("data-head", state.head);
    root.setAttribute("data-step", state.step);
    root.setAttribute("data-mode", state.mode);
    layerSelect.value = state.layer;
    headSelect.value = state.head;
    for (var m in panels) {
      panels[m].hidden = m !== state.mode;
      modeButtons[m].setAttribute("aria-pressed", m === state.mode ? "true" : "false");
    }
    if (slider) {
      slider.value = state.step;
      var text = String(steps[state.step]) + (data.step_labels && data.step_labels[state.step]
        ? " · " + data.step_labels[state.step] : "");
      stepLabel.textContent = text;
      slider.setAttribute("aria-valuetext", "step " + text);
    }
    if (state.mode === "tokens") showQuery(state.pinned === null ? state.query : state.pinned);
    else if (state.mode === "heatmap") { drawHeat(); if (!state.cell) status.textContent = ""; }
    else { drawOverview(); status.textContent = "Showing all " + L * H + " heads; the open one is layer " +
      state.layer + ", head " + state.head + "."; }
    root.setAttribute("data-draw-ms", (now() - t1).toFixed(1));
  }
  layerSelect.addEventListener("change", function () { state.layer = +layerSelect.value; render(); });
  headSelect.addEventListener("change", function () { state.head = +headSelect.value; render(); });
  modes.addEventListener("click", function (e) {
    var m = e.target.getAttribute && e.target.getAttribute("data-mode");
    if (!m) return;
    state.mode = m;
    if (m !== "overview") state.detail = m;
    render();
  });
  if (slider) slider.addEventListener("input", function () { state.step = +slider.value; render(); });

  // Redraw the canvases when the page switches between light and dark (the book's toggle,
  // JupyterLab's theme, or the operating system's setting), and when the width changes.
  function retheme() { colors = null; hm = null; overviewKey = null; render(); }
  if (window.MutationObserver) {
    var watch = new MutationObserver(retheme);
    watch.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "class"] });
    if (document.body) {
      watch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "class"] });
    }
  }
  if (window.matchMedia) {
    var dark = window.matchMedia("(prefers-color-scheme: dark)");
    if (dark.addEventListener) dark.addEventListener("change", retheme);
  }
  if (window.ResizeObserver) {
    var lastWidth = 0;
    new ResizeObserver(function () {
      var w = root.clientWidth;
      if (Math.abs(w - lastWidth) < 24) return;   // ignore tiny changes: no redraw loops
      lastWidth = w;
      if (state.mode === "heatmap") drawHeat();
      else if (state.mode === "overview") { overviewKey = null; drawOverview(); }
    }).observe(root);
  }

  // ------------------------------------------------------------------------------- start
  // The page is shown once the weights are decoded: base64 → bytes, and for large explorers
  // (data.encoding "deflate") the browser's own zlib decompressor, which works asynchronously.
  function start(levels) {
    if (levels.length !== steps.length * L * H * PER_HEAD) {
      throw new Error("gptlib explorer: wrong data size");
    }
    bytes = levels;
    var note = root.querySelector(".gpa-nojs");
    if (note) note.parentNode.removeChild(note);
    root.appendChild(ui);
    render();
    tokenEls[state.query].tabIndex = 0;
    root.setAttribute("data-ready", "1");
    root.setAttribute("data-render-ms", (now() - t0).toFixed(1));
  }
  function fail(message) {
    var note = root.querySelector(".gpa-nojs");
    if (note) note.textContent = "The attention explorer could not start: " + message;
  }
  var bin = atob(data.weights), packed = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) packed[i] = bin.charCodeAt(i);
  if (data.encoding === "deflate") {
    if (typeof DecompressionStream === "undefined") {
      fail("this browser has no DecompressionStream; any browser from 2023 or later does.");
    } else {
      new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("deflate")))
        .arrayBuffer().then(function (b) { start(new Uint8Array(b)); })
        .catch(function (e) { fail(String(e)); });
    }
  } else {
    start(packed);
  }
})
