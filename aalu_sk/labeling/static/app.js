// The page of `aalu-sk label`: the current batch as a grid, labeled with
// the keyboard; everything goes through the app's JSON API. All text from
// the server is set with textContent (never parsed as HTML).
"use strict";

const LETTERS = "abcdefghijklmnopqrstuvwxyz";
const state = { tiles: [], focus: 0, classes: [], keys: [], undo: [],
                cycle: null, waiting: false, status: null, reviewing: false };
const $ = (id) => document.getElementById(id);

// The key of each class: a class named by one digit or letter is labeled
// by that key (class "3" by key 3); the others take the free keys in the
// order 1-9, 0, a-z. The legend (the class list) shows every key.
function keyMap(classes) {
  const keys = classes.map(() => null);
  const used = new Set();
  classes.forEach((name, k) => {
    const key = name.toLowerCase();
    if (/^[0-9a-z]$/.test(key) && !used.has(key)) { keys[k] = key; used.add(key); }
  });
  const free = [..."1234567890" + LETTERS].filter((c) => !used.has(c));
  classes.forEach((name, k) => { if (keys[k] === null && free.length) keys[k] = free.shift(); });
  return keys;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(text) { $("message").textContent = text || ""; }

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// -- the grid -----------------------------------------------------------------
function renderTile(tile) {
  const fig = tile.node;
  fig.classList.toggle("done", tile.answer !== null && !tile.pending);
  fig.classList.toggle("pending", Boolean(tile.pending));
  fig.classList.toggle("skipped", tile.answer === "skip");
  fig.classList.toggle("focus", state.tiles[state.focus] === tile);
  tile.answerNode.textContent = tile.answer === null ? ""
    : tile.answer === "skip" ? (state.reviewing ? "kept" : "skipped")
    : "label: " + tile.answer;
}

function showBatch(batch) {
  state.cycle = batch.cycle;
  state.tiles = batch.items.map((item) => {
    const fig = el("figure", "tile");
    fig.dataset.id = item.id;
    const img = el("img");
    img.src = item.image;
    img.alt = "image " + item.id;
    const cap = el("figcaption");
    if (item.label !== undefined) {       // the review view
      cap.append(el("div", "given", "given: " + item.label));
      cap.append(el("div", "guess", "suggested: " + item.prediction));
    } else {
      cap.append(el("div", "guess", item.prediction === null ? "guess: none yet"
        : "guess: " + item.prediction));
    }
    const answer = el("div", "answer");
    cap.append(answer);
    fig.append(img, cap);
    const tile = { id: item.id, node: fig, answerNode: answer, answer: null,
                   given: item.label };
    fig.addEventListener("click", () => focusTile(state.tiles.indexOf(tile)));
    return tile;
  });
  $("grid").replaceChildren(...state.tiles.map((t) => t.node));
  state.focus = 0;
  state.waiting = false;
  $("waiting").hidden = true;
  state.tiles.forEach(renderTile);
}

function focusTile(k) {
  if (!state.tiles.length) return;
  state.focus = Math.max(0, Math.min(state.tiles.length - 1, k));
  state.tiles.forEach(renderTile);
  state.tiles[state.focus].node.scrollIntoView({ block: "nearest" });
}

function nextOpen() {
  const n = state.tiles.length;
  for (let step = 1; step <= n; step++) {
    const k = (state.focus + step) % n;
    if (state.tiles[k].answer === null) return k;
  }
  return -1;
}

function columns() {
  const tiles = state.tiles.map((t) => t.node.offsetTop);
  return Math.max(1, tiles.filter((top) => top === tiles[0]).length);
}

async function answer(kind, value) {
  // Optimistic: the tile shows the answer and the focus moves on at once
  // (fast typing works); "done" once the server has stored it.
  const tile = state.tiles[state.focus];
  if (!tile || tile.pending) return;
  const before = tile.answer;
  tile.answer = kind === "skip" ? "skip" : value;
  tile.pending = true;
  const k = nextOpen();
  if (k >= 0) focusTile(k); else state.tiles.forEach(renderTile);
  try {
    if (kind === "skip" && state.reviewing) { /* keep the label as it is */ }
    else if (kind === "skip") await api("/api/skip", { id: tile.id });
    else await api("/api/labels", { id: tile.id, label: value });
  } catch (err) {
    tile.answer = before;
    tile.pending = false;
    focusTile(state.tiles.indexOf(tile));
    say(err.message);
    return;
  }
  tile.pending = false;
  say("");
  if (!(kind === "skip" && state.reviewing)) state.undo.push(tile.id);
  renderTile(tile);
  if (state.tiles.every((t) => t.answer !== null && !t.pending)) {
    if (state.reviewing) backToBatch(); else waitForBatch();
  }
  refreshStatus().catch((e) => say(e.message));
}

async function undo() {
  const id = state.undo.pop();
  if (id === undefined) { say("nothing to undo"); return; }
  const shown = state.tiles.find((t) => t.id === id);
  // in the review view, undo puts the label given before back
  const before = shown && shown.given !== undefined ? shown.given : null;
  try { await api("/api/labels", { id: id, label: before }); }
  catch (err) { say(err.message); return; }
  const k = state.tiles.findIndex((t) => t.id === id);
  if (k >= 0) { state.tiles[k].answer = null; state.waiting = false; $("waiting").hidden = true; focusTile(k); }
  else await loadBatch();          // from an earlier batch: it comes back
  say("undone");
  refreshStatus();
}

// -- the review view: labels most likely wrong ------------------------------------
async function showReview() {
  let review;
  try { review = await api("/api/review?limit=24"); }
  catch (err) { say(err.message); return; }
  if (!review.items.length) { say("Nothing to review yet: it needs two classes with at least two labels each."); return; }
  state.reviewing = true;
  showBatch({ cycle: state.cycle, items: review.items.map((i) => ({
    id: i.id, image: "/api/image/" + i.id, prediction: i.suggested, label: i.label })) });
  $("back").hidden = false;
  $("review").hidden = true;
  say(`Review: the ${review.items.length} labels (of ${review.n_labeled}) most likely wrong, most suspicious first. ` +
      "Press a class key to relabel, Space to keep the label.");
}

async function backToBatch() {
  state.reviewing = false;
  $("back").hidden = true;
  $("review").hidden = false;
  say("");
  if (!(await loadBatch())) waitForBatch();
}

// -- batches and status -----------------------------------------------------------
async function loadBatch() {
  const batch = await api("/api/batch");
  if (batch.items.length) { showBatch(batch); return true; }
  return false;
}

function waitForBatch() {
  if (state.waiting) return;
  state.waiting = true;
  $("waiting").hidden = false;
  $("waiting").textContent = "Batch done. The model is retraining and choosing the next batch; it appears here by itself.";
  const poll = async () => {
    try {
      const status = await refreshStatus();
      if (await loadBatch()) return;
      if (status && status.n_pool === 0 && !status.progress.running) {
        $("waiting").textContent = "Every image is answered. Export your labels on the right.";
        return;
      }
      if (status && status.progress.error && !status.progress.running) {
        $("waiting").textContent = "The last cycle failed: " + status.progress.error;
        return;
      }
    } catch (err) { say(err.message); }
    setTimeout(poll, 700);
  };
  poll();
}

function renderClasses(status) {
  state.classes = status.classes;
  state.keys = keyMap(status.classes);
  const list = $("classes");
  list.replaceChildren(...status.classes.map((name, k) => {
    const li = el("li");
    const key = state.keys[k];
    const button = el("button", null, key === null ? "·" : key);
    button.type = "button";
    button.title = "key " + (key === null ? "(none)" : key) + ": label the selected image as " + name;
    if (key !== null) button.dataset.key = key;
    button.addEventListener("click", () => answer("label", name));
    li.append(button, el("span", "name", name),
      el("span", "count", String(status.class_counts[name] || 0)));
    return li;
  }));
}

function renderProgress(status) {
  const p = status.progress;
  const node = $("progress");
  node.classList.toggle("busy", p.running);
  const queued = status.n_queued ? ` · next batch ready (${status.n_queued})` : "";
  if (!p.running) { node.textContent = p.error ? "last cycle failed" : queued.slice(3); return; }
  node.textContent = p.stage === "training the model" && p.epochs
    ? `training the model: epoch ${p.epoch}/${p.epochs}` : p.stage;
  node.textContent += queued;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function niceTicks(lo, hi, count) {   // round tick values covering [lo, hi]
  const span = Math.max(1, hi - lo);
  const raw = span / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(Math.round(v));
  return ticks;
}

function renderCurve(curve) {
  const box = $("curve");
  const W = 300, H = 160, L = 34, B = 28, T = 8, R = 10;
  const nodes = [svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#888" }),
    svg("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#888" })];
  const y = (v) => H - B - Math.max(-0.05, v) * (H - B - T);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    nodes.push(svg("line", { x1: L, y1: y(v), x2: W - R, y2: y(v), stroke: "#ddd", class: "grid" }));
    const t = svg("text", { x: L - 4, y: y(v) + 3, "font-size": 9, "text-anchor": "end", class: "ytick" });
    t.textContent = v.toFixed(2);
    nodes.push(t);
  }
  const xs = curve.map((c) => c.n_labeled);
  const lo = Math.min(...xs, 0), hi = Math.max(...xs, 1);
  const x = (n) => L + (n - lo) / Math.max(1, hi - lo) * (W - L - R);
  for (const v of niceTicks(lo, hi, 4)) {
    nodes.push(svg("line", { x1: x(v), y1: H - B, x2: x(v), y2: H - B + 3, stroke: "#888" }));
    const t = svg("text", { x: x(v), y: H - B + 12, "font-size": 9, "text-anchor": "middle", class: "xtick" });
    t.textContent = String(v);
    nodes.push(t);
  }
  const series = [["batch_accuracy", "#1d3557", (c) => c.batch_accuracy],
    ["agreement", "#e63946", (c) => c.agreement],
    ["accuracy", "#2a9d8f", (c) => c.accuracy && c.accuracy.accuracy]];
  for (const [, color, value] of series) {
    const pts = curve.filter((c) => value(c) !== null && value(c) !== undefined)
      .map((c) => `${x(c.n_labeled)},${y(value(c))}`);
    if (pts.length) nodes.push(svg("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
    for (const p of pts) { const [cx, cy] = p.split(","); nodes.push(svg("circle", { cx, cy, r: 2.5, fill: color })); }
  }
  const label = svg("text", { x: (L + W - R) / 2, y: H - 3, "font-size": 10, "text-anchor": "middle" });
  label.textContent = curve.length ? "labels the model trained on" : "no model yet";
  nodes.push(label);
  box.replaceChildren(...nodes);
}

function pct(v) { return (100 * v).toFixed(0) + "%"; }

function renderAccuracy(a) {
  const node = $("accuracy");
  const e = a.accuracy;
  let text = e
    ? `The latest model is right on ${e.correct} of ${e.n} images drawn at random (never trained on): estimated accuracy ${pct(e.accuracy)}, 95% interval ${pct(e.low)}-${pct(e.high)}.`
    : a.n_audit ? `No estimate yet: label the randomly drawn images as they come (${a.n_audit_labeled} of ${a.n_audit} labeled).`
      : "No estimate: no image is drawn at random (--random-share 0).";
  const g = a.active_vs_random;
  if (g) text += ` Active vs random, ${g.n_train} labels each (logistic regression on thumbnails, tested on the random images): ${pct(g.active_accuracy)} vs ${pct(g.random_accuracy)}, gain ${g.gain >= 0 ? "+" : ""}${(100 * g.gain).toFixed(0)} points (95% interval ${(100 * g.low).toFixed(0)} to ${(100 * g.high).toFixed(0)}).`;
  node.textContent = text;
}

function renderStopping(s) {
  const node = $("stopping");
  const last = s.agreements.filter((a) => a !== null);
  node.classList.toggle("stop", s.should_stop);
  if (!last.length) { node.textContent = "Needs two models to compare; keep labeling."; return; }
  const kappa = last[last.length - 1].toFixed(3);
  const e = s.accuracy.accuracy;
  const acc = e ? ` The estimated accuracy is ${pct(e.accuracy)} (${pct(e.low)}-${pct(e.high)}).` : "";
  if (s.should_stop) {
    node.textContent = `You can stop: the last ${s.window} retrains changed almost no prediction on ${s.stop_set_size} held-aside images (kappa ≥ ${s.threshold}; latest ${kappa}).` + acc;
  } else if (s.stable) {
    node.textContent = `Predictions are stable (kappa ${kappa}), but the accuracy estimate rests on ${e ? e.n : 0} random images; keep labeling until ${s.min_audit}, so that you know what you stop at.` + acc;
  } else {
    node.textContent = `Keep labeling: the latest two models agree at kappa ${kappa} on ${s.stop_set_size} held-aside images; the signal says stop after ${s.window} retrains in a row at ≥ ${s.threshold}.` + acc;
  }
}

async function refreshStatus() {
  const status = await api("/api/status");
  state.status = status;
  $("summary").textContent = `${status.n_labeled} labeled · ${status.n_pool} never shown · ${status.n_items} images` +
    (status.cycle === null ? "" : ` · cycle ${status.cycle}`);
  renderClasses(status);
  renderProgress(status);
  renderCurve(status.curve);
  renderStopping(status.stopping);
  renderAccuracy(status.accuracy);
  const bad = status.unreadable;
  $("unreadable-box").hidden = !status.n_unreadable;
  $("unreadable").replaceChildren(...bad.map((b) => el("li", null, `${b.path}: ${b.error}`)));
  return status;
}

// -- input ------------------------------------------------------------------------
function onKey(event) {
  if (event.target.tagName === "INPUT" || event.altKey || event.metaKey) return;
  const key = event.key;
  if ((event.ctrlKey && key.toLowerCase() === "z") || key === "Backspace") { event.preventDefault(); undo(); return; }
  if (event.ctrlKey) return;
  if (key === " ") { event.preventDefault(); answer("skip"); return; }
  const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(), ArrowDown: columns() };
  if (key in moves) { event.preventDefault(); focusTile(state.focus + moves[key]); return; }
  if (key.length !== 1 || !/^[0-9a-z]$/i.test(key)) return;
  event.preventDefault();
  const k = state.keys.indexOf(key.toLowerCase());
  if (k < 0) { say(`no class on key ${key}`); return; }
  answer("label", state.classes[k]);
}

async function addClass(event) {
  event.preventDefault();
  const input = $("new-class");
  try { await api("/api/classes", { name: input.value }); input.value = ""; say(""); }
  catch (err) { say(err.message); }
  refreshStatus();
}

async function start() {
  document.addEventListener("keydown", onKey);
  $("undo").addEventListener("click", undo);
  $("skip").addEventListener("click", () => answer("skip"));
  $("review").addEventListener("click", showReview);
  $("back").addEventListener("click", backToBatch);
  $("add-class").addEventListener("submit", addClass);
  try {
    await refreshStatus();
    if (!(await loadBatch())) waitForBatch();
  } catch (err) { say(err.message); }
  setInterval(() => { if (!state.waiting) refreshStatus().catch((e) => say(e.message)); }, 4000);
}

start();
