"use strict";
// Shared by the pages: who is logged in, and building table rows without innerHTML.
async function whoAmI() {
  const r = await fetch("/api/me", {credentials: "same-origin"});
  if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname) + "&expired=1"; return null; }
  const me = await r.json();
  document.getElementById("who").textContent = me.name + " (" + me.role + ")";
  const wb = document.getElementById("wallboard-link");
  if (wb && !me.pages.includes("wallboard")) wb.hidden = true;
  return me;
}
function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (cls) td.className = cls;
  return td;
}
function clock(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  const m = Math.floor(seconds / 60), s = seconds % 60;
  return m >= 60 ? Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") : m + ":" + String(s).padStart(2, "0");
}
