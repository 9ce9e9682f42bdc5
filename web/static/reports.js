"use strict";
// The reports page: asks /api/reports/{name} and draws tables and, for intervals, a chart.
const SVG = "http://www.w3.org/2000/svg";

function today() { return new Date().toLocaleDateString("sv"); }
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}
function chart(report) {
  const box = document.getElementById("chart-box"), plot = document.getElementById("chart");
  plot.replaceChildren();
  const col = n => report.columns.indexOf(n);
  const rows = report.rows;
  box.hidden = rows.length === 0;
  if (!rows.length) return;
  const width = plot.clientWidth || 800, height = 240, left = 40, bottom = 20;
  const most = Math.max(1, ...rows.map(r => r[col("offered")]));
  const step = (width - left) / rows.length, bar = Math.max(2, step / 4);
  plot.setAttribute("viewBox", "0 0 " + width + " " + (height + bottom));
  plot.append(svg("line", {x1: left, y1: height, x2: width, y2: height, stroke: "#889"}));
  const text = svg("text", {x: 0, y: 12, "font-size": 11}); text.textContent = String(most); plot.append(text);
  const points = [];
  rows.forEach((r, i) => {
    const x = left + i * step;
    [["offered", 0], ["answered", 1], ["abandoned", 2]].forEach(([name, k]) => {
      const h = height * r[col(name)] / most;
      const rect = svg("rect", {x: x + k * bar, y: height - h, width: bar - 1, height: h, class: name});
      const tip = svg("title", {}); tip.textContent = r[col("interval")] + " " + r[col("queue")] + ": " + r[col(name)] + " " + name;
      rect.append(tip); plot.append(rect);
    });
    const sl = r[col("service_level")];
    if (sl !== null) points.push((x + 1.5 * bar) + "," + (height - height * sl / 100));
    if (i % Math.ceil(rows.length / 8) === 0) {
      const label = svg("text", {x: x, y: height + 14, "font-size": 10}); label.textContent = r[col("interval")].slice(11);
      plot.append(label);
    }
  });
  if (points.length) plot.append(svg("polyline", {points: points.join(" "), class: "sl"}));
}
function table(report) {
  const wrap = document.createElement("section");
  const h = document.createElement("h2"); h.textContent = report.title; wrap.append(h);
  const t = document.createElement("table"); t.dataset.report = report.name;
  const head = document.createElement("tr");
  for (const c of report.columns) { const th = document.createElement("th"); th.textContent = c; head.append(th); }
  t.append(head);
  for (const row of report.rows) {
    const tr = document.createElement("tr");
    row.forEach(v => tr.append(cell(v, typeof v === "string" ? "text" : "")));
    t.append(tr);
  }
  if (!report.rows.length) { const tr = document.createElement("tr"); tr.append(cell("no calls in this period", "text")); t.append(tr); }
  wrap.append(t);
  return wrap;
}
async function show(event) {
  if (event) event.preventDefault();
  const p = new URLSearchParams();
  for (const id of ["from", "to", "minutes"]) { const v = document.getElementById(id).value; if (v) p.set(id, v); }
  const q = document.getElementById("queue").value.trim(); if (q) p.append("queue", q);
  const name = document.getElementById("name").value;
  const r = await fetch("/api/reports/" + name + "?" + p, {credentials: "same-origin"});
  const body = await r.json();
  const error = document.getElementById("error"), tables = document.getElementById("tables");
  if (r.status === 401) { location.href = "/login?next=/reports&expired=1"; return; }
  if (!r.ok) { error.textContent = body.error; tables.replaceChildren(); return; }
  error.textContent = "";
  tables.replaceChildren(...body.reports.map(table));
  document.getElementById("chart-box").hidden = true;
  if (name === "intervals") chart(body.reports[0]);
}
async function start() {
  if (!await whoAmI()) return;
  document.getElementById("from").value = today();
  document.getElementById("to").value = today();
  document.getElementById("ask").addEventListener("submit", show);
  show();
}
start();
