// The dashboard: polls /dashboard/state every 2 s and redraws. No dependencies.
"use strict";

const POLL_MS = 2000;
const EVENTS_SHOWN = 15;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) tr.appendChild(cell instanceof Node ? cell : el("td", cell));
  return tr;
}

function fill(id, rows, empty, columns) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows);
  if (rows.length === 0) {
    const td = el("td", empty, "muted");
    td.colSpan = columns;
    body.appendChild(row([td]));
  }
}

function tags(names, cls) {
  const td = el("td");
  for (const name of names) td.appendChild(el("span", name, cls));
  return td;
}

function ms(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(2)} s`;
}

function num(value, cls = "num") {
  return el("td", value, cls);
}

function drawQueue(history) {
  const svg = document.getElementById("queue-chart");
  const ns = "http://www.w3.org/2000/svg";
  const width = 600, height = 120;
  svg.replaceChildren();
  const max = Math.max(1, ...history.map((s) => s.queued), ...history.map((s) => s.running));
  const line = (key, color) => {
    if (history.length === 0) return;
    // At least a minute wide, so a short history still reads; five minutes at most.
    const step = width / (Math.max(60, history.length) - 1);
    const start = width - step * (history.length - 1);
    const points = history.map((s, i) => `${(start + i * step).toFixed(1)},${(height - 4 - (s[key] / max) * (height - 20)).toFixed(1)}`);
    const path = document.createElementNS(ns, "polyline");
    path.setAttribute("points", points.join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", color);
    path.setAttribute("stroke-width", "2");
    path.setAttribute("vector-effect", "non-scaling-stroke");
    svg.appendChild(path);
  };
  line("running", "#94a3b8");
  line("queued", "#2563eb");
  document.getElementById("queue-max").textContent = max;
}

function render(state) {
  const busy = state.workers.reduce((n, w) => n + w.busy, 0);
  const slots = state.workers.reduce((n, w) => n + w.slots, 0);
  document.getElementById("n-workers").textContent = state.workers.length;
  document.getElementById("n-queued").textContent = state.queued;
  document.getElementById("n-running").textContent = state.running;
  document.getElementById("n-slots").textContent = `${busy} / ${slots}`;
  drawQueue(state.queue_history);

  fill("workers", state.workers.map((w) => {
    const state = el("td", w.state);
    state.className = `health ${w.state}`;
    const tr = row([el("td", w.worker_id), el("td", w.kind), state, num(`${w.busy} / ${w.slots}`),
      tags(w.loaded, "tag"), tags(w.loading, "tag loading")]);
    tr.dataset.worker = w.worker_id;
    return tr;
  }), "no worker connected", 6);

  fill("labels", state.labels.map((l) => {
    const lat = l.latency || {};
    const tr = row([el("td", l.label), num(l.requests), num(l.misses),
      num(l.hit_rate === null ? "–" : `${(l.hit_rate * 100).toFixed(1)} %`),
      num(`${l.copies} / ${l.target_copies || "–"}`), num(l.demand > 0 ? l.demand.toPrecision(2) : "0"),
      num(ms(lat.p50)), num(ms(lat.p95)), num(ms(lat.p99))]);
    tr.dataset.label = l.label;
    return tr;
  }), "no task finished yet", 9);
  document.getElementById("labels-shown").textContent =
    state.labels_total > state.labels.length ? `, ${state.labels.length} of ${state.labels_total}` : "";

  fill("events", state.events.slice(-EVENTS_SHOWN).reverse().map((e) => row([
    el("td", e.unix_ms ? new Date(e.unix_ms).toLocaleTimeString() : ""),
    el("td", e.event || ""), el("td", e.task_id || ""), el("td", e.label || (e.detail && e.detail.label) || ""),
    el("td", e.worker_id || ""), el("td", e.status || ""),
  ])), "no events yet", 6);
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/dashboard/state", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    status.textContent = `live · ${new Date().toLocaleTimeString()}`;
    status.className = "ok";
  } catch (error) {
    status.textContent = `cannot reach the server (${error.message}); retrying`;
    status.className = "err";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
