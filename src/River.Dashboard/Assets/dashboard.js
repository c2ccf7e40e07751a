// River dashboard: renders each cluster view the server pushes (/events). Data is set as text, never as HTML.
"use strict";
const history = new Map();   // "vm>peer" -> frames/s sent, newest last
const keep = 120;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const short = id => id.slice(0, 8);
const num = x => x >= 100 ? Math.round(x).toString() : x.toFixed(1);
const bytes = b => { const n = Number(b); return n >= 2 ** 30 ? (n / 2 ** 30).toFixed(1) + " GiB" : n >= 2 ** 20 ? (n / 2 ** 20).toFixed(0) + " MiB" : String(b ?? ""); };
const builtIn = new Set(["cores", "os", "memory", "load", "vrs"]);

function renderVms(view) {
  const body = document.querySelector("#vms tbody");
  body.replaceChildren(...view.vms.map(vm => {
    const max = Math.max(1, ...vm.vrs.map(v => v.queued));
    const vrs = vm.vrs.length === 0 ? el("span", { class: "empty" }, "none") : el("div", {}, ...vm.vrs.map(v =>
      el("div", { class: "vr", "data-vr": v.id, title: v.id },
        el("span", { class: "id" }, short(v.id)), el("span", {}, v.type.split(".").pop()),
        el("span", { class: "bar", style: `width:${4 * v.queued / max}em` }), el("span", { class: "queued" }, String(v.queued)))));
    const attrs = Object.entries(vm.attributes).filter(([k]) => !builtIn.has(k)).map(([k, v]) => el("span", { class: "attr" }, `${k}=${v}`));
    return el("tr", { "data-vm": vm.id },
      el("td", { class: "id", title: vm.id }, short(vm.id)), el("td", {}, vm.address), el("td", {}, vm.attributes.cores ?? ""),
      el("td", {}, vm.load.toFixed(2)), el("td", {}, bytes(vm.attributes.memory)),
      el("td", {}, num(vm.packetsInRate)), el("td", {}, num(vm.packetsOutRate)), el("td", {}, ...attrs), el("td", {}, vrs));
  }));
  const vrCount = view.vms.reduce((n, vm) => n + vm.vrs.length, 0);
  document.getElementById("summary").textContent = `${view.vms.length} VMs, ${vrCount} VRs, ${view.gone.length} gone`;
}

function renderTopology(view) {
  const topo = document.getElementById("topology");
  const r = 95, at = new Map();
  view.vms.forEach((vm, i) => {
    const a = 2 * Math.PI * i / view.vms.length - Math.PI / 2;
    at.set(vm.id, [r * Math.cos(a), r * Math.sin(a)]);
  });
  const lines = [], seen = new Set();
  for (const vm of view.vms) for (const l of vm.links) {
    const key = [vm.id, l.peer].sort().join();
    if (!at.has(l.peer) || seen.has(key)) continue;
    seen.add(key);
    const [[x1, y1], [x2, y2]] = [at.get(vm.id), at.get(l.peer)];
    const width = 1 + Math.min(5, Math.log10(1 + l.framesSentRate + l.framesReceivedRate));
    lines.push(svg("line", { x1, y1, x2, y2, class: l.state, "stroke-width": width }));
  }
  const nodes = view.vms.flatMap(vm => {
    const [x, y] = at.get(vm.id);
    return [svg("circle", { cx: x, cy: y, r: 7 + Math.min(8, vm.vrs.length), "data-vm": vm.id }),
      svg("text", { x, y: y + (y < 0 ? -18 : 26) }, `${short(vm.id)} (${vm.vrs.length})`)];
  });
  topo.replaceChildren(...lines, ...nodes);
}

function renderLinks(view) {
  const live = new Set();
  for (const vm of view.vms) for (const l of vm.links) {
    const key = `${vm.id}>${l.peer}`;
    live.add(key);
    const h = history.get(key) || [];
    h.push(l.framesSentRate);
    if (h.length > keep) h.shift();
    history.set(key, h);
  }
  for (const key of [...history.keys()]) if (!live.has(key)) history.delete(key);
  const box = document.getElementById("links");
  box.replaceChildren(...[...history].map(([key, h]) => {
    const [from, to] = key.split(">");
    const canvas = el("canvas", { width: 240, height: 60 });
    draw(canvas, h);
    return el("div", { class: "link", "data-link": key },
      el("div", {}, el("span", { class: "id" }, `${short(from)} \u2192 ${short(to)}`), ` ${num(h[h.length - 1])}/s`), canvas);
  }));
}

function draw(canvas, h) {
  const g = canvas.getContext("2d"), w = canvas.width, ht = canvas.height;
  const max = Math.max(1, ...h);
  g.strokeStyle = "#457b9d";
  g.lineWidth = 1.5;
  g.beginPath();
  h.forEach((v, i) => {
    const x = w - (h.length - 1 - i) * (w / (keep - 1)), y = ht - 4 - (ht - 8) * v / max;
    i === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#667";
  g.font = "10px sans-serif";
  g.fillText(num(max), 2, 10);
}

function renderFailures(view) {
  document.getElementById("gone").replaceChildren(...view.gone.map(g =>
    el("li", { "data-gone": g.id }, `VM ${short(g.id)} at ${g.address} gone since ${new Date(g.since).toLocaleTimeString()}`)));
  const list = document.getElementById("failures");
  if (view.failures.length === 0) { list.replaceChildren(el("li", { class: "empty" }, "none")); return; }
  list.replaceChildren(...view.failures.map(f =>
    el("li", { "data-subject": f.subject, "data-kind": f.kind },
      `${new Date(f.time).toLocaleTimeString()} `, el("span", { class: `kind ${f.kind}` }, f.kind), " ",
      el("span", { class: "id", title: f.subject }, short(f.subject)), `: ${f.detail} (seen by ${f.seenBy === "dashboard" ? "the dashboard" : short(f.seenBy)})`)));
}

const live = document.getElementById("live");
const events = new EventSource("events");
events.onopen = () => { live.textContent = "live"; live.className = "on"; };
events.onerror = () => { live.textContent = "reconnecting"; live.className = "off"; };
events.onmessage = e => {
  const view = JSON.parse(e.data);
  renderVms(view);
  renderTopology(view);
  renderLinks(view);
  renderFailures(view);
  document.body.dataset.updated = view.time;
};
