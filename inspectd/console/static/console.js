// inspectd console: draws the snapshot, then follows the server-sent update stream.
// Every value from the daemon reaches the page through textContent, never as markup.
"use strict";

const PER_PAGE = 12;
const BINS = 24;
// productsSeq: the update the product panel's counts include (snapshots may answer out of order)
const state = { csrf: null, seq: 0, products: {}, productsSeq: -1, reviewPage: 0, feedbackUnavailable: null,
                stream: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  children.forEach((child) => node.append(child));
  return node;
}

function fmt(value, digits = 3) {
  return typeof value === "number" ? value.toFixed(digits) : "-";
}

function clock(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleTimeString() : "";
}

function toast(message) {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) { location.reload(); throw new Error("signed out"); }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function post(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf },
                     body: JSON.stringify(body) });
}

// -- a frame with its overlay and defect boxes ------------------------------------------------------
function drawBoxes(frame, summary) {
  frame.querySelectorAll(".box").forEach((box) => box.remove());
  const size = summary.image;
  if (!size) return;
  for (const defect of summary.defects || []) {
    const box = el("div", { class: "box", title: `peak ${fmt(defect.peak_score)}` });
    box.style.left = `${(100 * defect.x) / size.width}%`;
    box.style.top = `${(100 * defect.y) / size.height}%`;
    box.style.width = `${(100 * defect.width) / size.width}%`;
    box.style.height = `${(100 * defect.height) / size.height}%`;
    frame.append(box);
  }
}

function frameView(summary, onShown) {
  const img = el("img", { alt: `frame ${summary.frame_id}` });
  const frame = el("div", { class: "frame" }, img);
  img.addEventListener("load", () => { img.dataset.frameId = summary.frame_id; drawBoxes(frame, summary); onShown(); });
  img.addEventListener("error", onShown);
  img.src = `/api/frames/${encodeURIComponent(summary.frame_id)}/image`;
  return frame;
}

// -- live view: one card per source; a new frame replaces the shown one once its image has loaded -------
const sourceCards = {};

function sourceCard(name) {
  if (sourceCards[name]) return sourceCards[name];
  const card = el("article", { class: "source", id: `source-${name}`, "data-source": name },
    el("h3", { text: name }), el("p", { class: "state", text: "no state yet" }),
    el("div", { class: "frame" }), el("p", { class: "verdict", text: "waiting for a frame" }),
    el("p", { class: "score" }), el("p", { class: "ids" }));
  document.getElementById("sources").append(card);
  sourceCards[name] = { card, pending: null, loading: false };
  return sourceCards[name];
}

function showState(stateMessage) {
  const { card } = sourceCard(stateMessage.source);
  const line = card.querySelector(".state");
  line.textContent = `${stateMessage.up ? "up" : "down"} · product ${stateMessage.product || "none"}`;
  line.className = `state ${stateMessage.up ? "up" : "down"}`;
}

function showResult(summary) {
  const entry = sourceCard(summary.source);
  entry.pending = summary;
  if (!entry.loading) loadNext(entry);
}

function loadNext(entry) {
  const summary = entry.pending;
  entry.pending = null;
  if (!summary) { entry.loading = false; return; }
  entry.loading = true;
  const { card } = entry;
  const frame = frameView(summary, () => {
    card.querySelector(".frame").replaceWith(frame);
    card.dataset.frameId = summary.frame_id;
    const verdict = card.querySelector(".verdict");
    verdict.textContent = summary.verdict.toUpperCase() + (summary.error ? ` (${summary.error.reason})` : "");
    verdict.className = `verdict ${summary.verdict}`;
    card.querySelector(".score").textContent =
      `score ${fmt(summary.score)} / threshold ${fmt(summary.threshold)} · bank ${summary.bank_version || "-"}`;
    card.querySelector(".ids").textContent =
      `${summary.product || "-"} · part ${summary.part_id || "-"} · frame ${summary.frame_id} · ${clock(summary.timestamps.completed)}`;
    loadNext(entry);
  });
}

// -- products: counts, score histogram with the threshold line, bank versions with rollback -----------
function drawHistogram(canvas, scores, threshold) {
  const context = canvas.getContext("2d");
  const width = (canvas.width = canvas.clientWidth || 320);
  const height = (canvas.height = canvas.clientHeight || 120);
  context.clearRect(0, 0, width, height);
  if (!scores.length) return;
  const marks = threshold === null || threshold === undefined ? scores : [...scores, threshold];
  const low = Math.min(...marks) * 0.9;
  const span = Math.max(...marks) * 1.1 - low || 1;
  const at = (value) => ((value - low) / span) * width;
  const counts = new Array(BINS).fill(0);
  scores.forEach((score) => { counts[Math.min(BINS - 1, Math.floor(((score - low) / span) * BINS))] += 1; });
  const tallest = Math.max(...counts);
  const barWidth = width / BINS;
  counts.forEach((count, bin) => {
    const barHeight = ((height - 12) * count) / tallest;
    const failing = threshold !== null && low + ((bin + 0.5) * span) / BINS > threshold;
    context.fillStyle = failing ? "#b3261e" : "#1b7f3b";
    context.fillRect(bin * barWidth + 1, height - barHeight, barWidth - 2, barHeight);
  });
  if (threshold !== null && threshold !== undefined) {
    context.strokeStyle = "#000";
    context.setLineDash([4, 3]);
    context.beginPath(); context.moveTo(at(threshold), 0); context.lineTo(at(threshold), height); context.stroke();
    context.fillStyle = "#000";
    context.fillText(`threshold ${fmt(threshold)}`, Math.min(at(threshold) + 3, width - 90), 10);
  }
}

function versionRow(name, product, version) {
  const serving = version.version === product.serving;
  const row = el("tr", { "data-version": version.version, class: serving ? "serving" : "" },
    el("td", { text: version.version + (serving ? " (serving)" : "") }),
    el("td", { text: fmt(version.threshold) }),
    el("td", { text: `${version.golden_images ?? "-"} golden, ${version.feedback_frames ?? 0} feedback` }),
    el("td", { text: version.restored_from ? `restores ${version.restored_from}` : (version.error || "") }));
  const action = el("td");
  if (!serving && !version.error) {
    const button = el("button", { type: "button", class: "rollback", text: "Roll back to this" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const done = await post(`/api/products/${encodeURIComponent(name)}/rollback`, { version: version.version });
        toast(`${name}: ${done.version} restores ${done.restored}`);
      } catch (error) { toast(`rollback refused: ${error.message}`); button.disabled = false; }
    });
    action.append(button);
  }
  row.append(action);
  return row;
}

function renderProduct(name, product) {
  let card = document.getElementById(`product-${name}`);
  if (!card) {
    card = el("article", { class: "product", id: `product-${name}` }, el("h3", { text: name }),
      el("p", { class: "counts" }), el("canvas", { class: "histogram" }), el("p", { class: "serving" }),
      el("table", { class: "versions" }), el("dl", { class: "extra" }));
    document.getElementById("product-list").append(card);
  }
  card.querySelector(".counts").textContent = `${product.passed} passed · ${product.failed} failed`;
  const serving = card.querySelector(".serving");
  serving.replaceChildren("serving ", el("b", { class: "serving-version", text: product.serving || "no bank" }));
  const table = card.querySelector(".versions");
  const versionsKey = JSON.stringify([product.serving, product.versions]);
  if (table.dataset.key !== versionsKey) {  // rebuilt only on change: a button under the pointer stays put
    table.dataset.key = versionsKey;
    table.replaceChildren(el("tr", {}, ...["version", "threshold", "images", "", ""].map((h) => el("th", { text: h }))),
      ...product.versions.map((version) => versionRow(name, product, version)));
  }
  const extra = card.querySelector(".extra");  // stream learning, drift: whatever a state provider reports
  extra.replaceChildren(...Object.entries(product.extra || {}).flatMap(([key, value]) =>
    [el("dt", { text: key }), el("dd", { text: typeof value === "object" ? JSON.stringify(value) : String(value) })]));
  drawHistogram(card.querySelector(".histogram"), product.scores, product.threshold);
}

function countResult(summary, seq) {
  const product = state.products[summary.product];
  if (!product || seq <= state.productsSeq || (summary.verdict !== "pass" && summary.verdict !== "fail")) return;
  product[summary.verdict === "pass" ? "passed" : "failed"] += 1;
  product.scores.push(summary.score);
  if (product.scores.length > 200) product.scores.shift();
  product.threshold = summary.threshold;
  scheduleProducts();
}

function takeProducts(snapshot) {
  if (snapshot.seq < state.productsSeq) return;
  state.products = snapshot.products;
  state.productsSeq = snapshot.seq;
  scheduleProducts();
}

function scheduleProducts() {
  if (scheduleProducts.queued) return;
  scheduleProducts.queued = true;
  requestAnimationFrame(() => {
    scheduleProducts.queued = false;
    Object.entries(state.products).forEach(([name, product]) => renderProduct(name, product));
  });
}

// -- review queue ---------------------------------------------------------------------------------
function reviewItem(summary) {
  const item = el("article", { class: "review-item", "data-frame-id": summary.frame_id,
                               "data-label": summary.label || "" },
    frameView(summary, () => {}),
    el("p", { class: "verdict fail", text: `${summary.product} · score ${fmt(summary.score)} / ${fmt(summary.threshold)}` }),
    el("p", { class: "ids", text: `${summary.source} · part ${summary.part_id || "-"} · frame ${summary.frame_id} · ${clock(summary.timestamps.completed)}` }),
    el("p", { class: "label", text: summary.label ? `marked ${summary.label}` : "" }));
  for (const label of ["good", "defective"]) {
    const button = el("button", { type: "button", class: label, text: label === "good" ? "Good" : "Defective" });
    button.disabled = Boolean(summary.label || state.feedbackUnavailable);
    button.addEventListener("click", async () => {
      item.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      try {
        await post(`/api/review/${encodeURIComponent(summary.frame_id)}/label`, { label });
        item.querySelector(".label").textContent = `sending ${label}`;
      } catch (error) { toast(`feedback refused: ${error.message}`); }
    });
    item.append(button);
  }
  return item;
}

async function loadReview() {
  const page = await api(`/api/review?page=${state.reviewPage}&per_page=${PER_PAGE}`);
  const list = document.getElementById("review-list");  // items already shown are kept, buttons and all
  const shown = new Map([...list.children].map((item) => [`${item.dataset.frameId}|${item.dataset.label}`, item]));
  list.replaceChildren(...page.frames.map((frame) => shown.get(`${frame.frame_id}|${frame.label || ""}`)
                                                    || reviewItem(frame)));
  const pages = Math.max(1, Math.ceil(page.total / PER_PAGE));
  document.getElementById("review-total").textContent = `${page.total} rejected frame(s)`;
  document.getElementById("review-page").textContent = `page ${state.reviewPage + 1} of ${pages}`;
  document.getElementById("review-newer").disabled = state.reviewPage === 0;
  document.getElementById("review-older").disabled = state.reviewPage + 1 >= pages;
}

function scheduleReview() {
  clearTimeout(scheduleReview.timer);
  scheduleReview.timer = setTimeout(() => loadReview().catch((error) => toast(error.message)), 300);
}

// -- events ---------------------------------------------------------------------------------------
function showEvent(event, newestFirst = true) {
  const details = Object.entries(event)  // every field but the name and time: events added later show too
    .filter(([key, value]) => key !== "event" && key !== "at" && value !== null && typeof value !== "object")
    .map(([key, value]) => `${key} ${typeof value === "number" ? +value.toFixed(4) : value}`).join(" · ");
  const refused = /refused/.test(event.event);
  const item = el("li", { "data-event": event.event, class: refused ? "refused" : "" },
    el("b", { text: event.event }), ` ${clock(event.at)} ${details}`);
  const list = document.getElementById("event-list");
  if (newestFirst) list.prepend(item); else list.append(item);
  while (list.children.length > 200) list.lastElementChild.remove();
}

// -- snapshot and stream --------------------------------------------------------------------------
async function refreshSnapshot() {
  const snapshot = await api("/api/snapshot");
  state.csrf = snapshot.csrf;
  state.seq = snapshot.seq;
  takeProducts(snapshot);
  state.feedbackUnavailable = snapshot.feedback_unavailable;
  const note = document.getElementById("feedback-note");
  note.hidden = !snapshot.feedback_unavailable;
  note.textContent = snapshot.feedback_unavailable || "";
  document.getElementById("sign-out").hidden = snapshot.auth !== "session";
  snapshot.sources.forEach((source) => {
    if (source.state) showState(source.state);
    if (source.latest) showResult(source.latest);
  });
  document.getElementById("event-list").replaceChildren();
  snapshot.events.forEach((event) => showEvent(event, false));
  await loadReview();
}

function onUpdate(message) {
  const update = JSON.parse(message.data);
  state.seq = update.seq;
  if (update.kind === "resync") { reconnect(); return; }
  if (update.kind === "state") showState(update.data);
  if (update.kind === "result") {
    showResult(update.data);
    countResult(update.data, update.seq);
    if (update.data.verdict === "fail" && state.reviewPage === 0) scheduleReview();
  }
  if (update.kind === "event") {
    showEvent(update.data);
    if (/^bank_|^feedback_/.test(update.data.event)) {
      api("/api/snapshot").then(takeProducts).catch((error) => toast(error.message));
    }
    if (update.data.event === "feedback_applied") scheduleReview();
  }
}

function connect() {
  const status = document.getElementById("connection");
  const stream = new EventSource(`/api/stream?since=${state.seq}`);
  state.stream = stream;
  stream.onopen = () => { status.textContent = "live"; status.className = "connection live"; };
  stream.onmessage = onUpdate;
  stream.onerror = () => { status.textContent = "reconnecting"; status.className = "connection down"; reconnect(); };
}

function reconnect() {
  if (state.stream) state.stream.close();
  state.stream = null;
  clearTimeout(reconnect.timer);
  reconnect.timer = setTimeout(() => refreshSnapshot().then(connect).catch(reconnect), 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("review-newer").addEventListener("click", () => { state.reviewPage -= 1; scheduleReview(); });
  document.getElementById("review-older").addEventListener("click", () => { state.reviewPage += 1; scheduleReview(); });
  document.getElementById("sign-out").addEventListener("click", () => post("/logout", {}).then(() => location.reload()));
  refreshSnapshot().then(connect).catch((error) => { toast(error.message); reconnect(); });
});
