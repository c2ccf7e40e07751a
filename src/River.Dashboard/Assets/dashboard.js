// River dashboard: renders each cluster view the server pushes (/events). Data is set as text, never as HTML.
"use strict";
const graphs = new Map();   // "vm>peer" -> { h: frames/s sent, newest last, and its elements }
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
const time = t => new Date(t).toLocaleTimeString([], { hour12: false });
const num = x => x >= 100 ? Math.round(x).toString() : x.toFixed(1);
const bytes = b => { const n = Number(b); return n >= 2 ** 30 ? (n / 2 ** 30).toFixed(1) + " GiB" : n >= 2 ** 20 ? (n / 2 ** 20).toFixed(0) + " MiB" : String(b ?? ""); };
const builtIn = new Set(["cores", "os", "memory", "load", "vrs"]);

function renderVms(view) {
  const body = document.querySelector("#vms tbody");
  const max = Math.max(1, ...view.vms.flatMap(vm => vm.vrs.map(v => v.queued)));   // one scale for every queue
  body.replaceChildren(...view.vms.map(vm => {
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
  const r = 95, at = new Map(), all = [...view.vms.map(vm => vm.id), ...view.gone.map(g => g.id)];
  all.forEach((id, i) => {
    const a = 2 * Math.PI * i / all.length - Math.PI / 2;
    at.set(id, [r * Math.cos(a), r * Math.sin(a)]);
  });
  const lines = [], seen = new Set();
  for (const vm of view.vms) for (const l of vm.links) {
    const key = [vm.id, l.peer].sort().join();
    if (!at.has(l.peer) || seen.has(key) || view.gone.some(g => g.id === l.peer)) continue;
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
  const gone = view.gone.flatMap(g => {
    const [x, y] = at.get(g.id);
    return [svg("circle", { cx: x, cy: y, r: 7, class: "gone", "data-gone": g.id }), svg("text", { x, y: y + (y < 0 ? -18 : 26) }, `${short(g.id)} gone`)];
  });
  topo.replaceChildren(...lines, ...nodes, ...gone);
}

function renderLinks(view) {
  const box = document.getElementById("links"), current = new Set();
  for (const vm of view.vms) for (const l of vm.links) {
    const key = `${vm.id}>${l.peer}`;
    current.add(key);
    let link = graphs.get(key);
    if (!link) {
      const canvas = el("canvas", { height: 60 }), rate = el("span", { class: "rate" });
      const node = el("div", { class: "link", "data-link": key },
        el("div", {}, el("span", { class: "id" }, `${short(vm.id)} \u2192 ${short(l.peer)}`), " ", rate, "/s ", el("span", { class: "state" })), canvas);
      link = { h: [], node, canvas, rate };
      graphs.set(key, link);
      box.append(node);
      canvas.width = canvas.clientWidth || 240;
    }
    link.h.push(l.framesSentRate);
    if (link.h.length > keep) link.h.shift();
    link.rate.textContent = num(l.framesSentRate);
    link.node.querySelector(".state").textContent = l.state === "connected" ? "" : l.state;
    draw(link.canvas, link.h);
  }
  for (const [key, link] of [...graphs]) if (!current.has(key)) { link.node.remove(); graphs.delete(key); }
}

function draw(canvas, h) {
  const g = canvas.getContext("2d"), w = canvas.width, ht = canvas.height;
  const max = Math.max(1, ...h);
  g.clearRect(0, 0, w, ht);
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
    el("li", { "data-gone": g.id }, `VM ${short(g.id)} at ${g.address} gone since ${time(g.since)}`)));
  const list = document.getElementById("failures");
  if (view.failures.length === 0) { list.replaceChildren(el("li", { class: "empty" }, "none")); return; }
  list.replaceChildren(...view.failures.map(f =>
    el("li", { "data-subject": f.subject, "data-kind": f.kind },
      `${time(f.time)} `, el("span", { class: `kind ${f.kind}` }, f.kind), " ",
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
