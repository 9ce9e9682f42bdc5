"use strict";
// The live wallboard: everything arrives as server-sent events from /api/live.
const queues = new Map(), agents = new Map(), campaigns = new Map();
let thresholds = {}, skew = 0;

function level(name, value) {
  const t = thresholds[name];
  if (!t || value === null || value === undefined) return "";
  if (t.red < t.amber) return value <= t.red ? "red" : value <= t.amber ? "amber" : "";
  return value >= t.red ? "red" : value >= t.amber ? "amber" : "";
}
function agentsText(by) {
  return Object.entries(by || {}).map(([k, v]) => v + " " + k).join(", ");
}
function drawQueues() {
  const body = document.querySelector("#queues tbody");
  body.replaceChildren();
  for (const q of [...queues.values()].sort((a, b) => a.queue.localeCompare(b.queue))) {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.queue;
    const t = q.today || {};
    tr.append(cell(q.queue), cell(q.waiting, "waiting " + level("waiting", q.waiting)),
      cell(clock(q.longest_wait), "longest " + level("longest_wait", q.longest_wait)),
      cell(t.service_level === null ? null : t.service_level + " %", "sl " + level("service_level", t.service_level)),
      cell(t.asa === null ? null : t.asa + " s"), cell(t.answered),
      cell(t.abandoned, "abandoned " + level("abandoned", t.abandoned)),
      cell(q.callbacks_waiting, level("callbacks_waiting", q.callbacks_waiting)),
      cell(agentsText(q.agents), "text"));
    body.append(tr);
  }
}
function drawAgents() {
  const body = document.querySelector("#agents tbody");
  body.replaceChildren();
  const now = Date.now() / 1000 - skew;
  for (const a of [...agents.values()].sort((x, y) => x.agent.localeCompare(y.agent))) {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.agent;
    tr.append(cell(a.agent), cell(a.name, "text"), cell(a.state, "state text"), cell(a.reason, "text"),
      cell(a.since ? clock(now - a.since) : null), cell(a.call_id, "text"));
    body.append(tr);
  }
}
function drawCampaigns() {
  const body = document.querySelector("#campaigns tbody");
  document.getElementById("campaigns-section").hidden = campaigns.size === 0;
  body.replaceChildren();
  for (const c of campaigns.values()) {
    const tr = document.createElement("tr");
    tr.append(cell(c.campaign), cell(c.status, "text"), cell(c.mode, "text"), cell(c.dial_level),
      cell(c.in_flight), cell(c.contacts_per_hour), cell(Math.round(100 * c.occupancy) + " %"),
      cell(c.abandon_pct_30d + " %", c.abandon_pct_30d >= c.abandon_cap ? "red" : ""));
    body.append(tr);
  }
}
async function start() {
  const me = await whoAmI();
  if (!me) return;
  thresholds = me.thresholds;
  skew = Date.now() / 1000 - me.now;
  const link = document.getElementById("link");
  const source = new EventSource("/api/live");
  source.onopen = () => { link.textContent = "live"; link.className = "link up"; };
  source.onerror = () => { link.textContent = "reconnecting…"; link.className = "link down"; };
  source.addEventListener("queue", e => { const d = JSON.parse(e.data); queues.set(d.queue, d); drawQueues(); });
  source.addEventListener("queue_removed", e => { queues.delete(JSON.parse(e.data).queue); drawQueues(); });
  source.addEventListener("agent", e => { const d = JSON.parse(e.data); agents.set(d.agent, d); drawAgents(); });
  source.addEventListener("campaign", e => { const d = JSON.parse(e.data); campaigns.set(d.campaign, d); drawCampaigns(); });
  source.addEventListener("logout", () => { source.close(); location.href = "/login?expired=1"; });
  setInterval(drawAgents, 1000);
}
start();
