// qc/rois.html: the page itself (HTML, CSS, JavaScript), around the data of qc_rois_page.cpp.
// No external resources: it works from a file:// URL with no network.
#include <string>

namespace apical {

namespace {

const char* const kHead = R"PAGE(<!doctype html>
<html><head><meta charset=utf-8><title>%TITLE%</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:130%;margin:.2em 0}
.help{color:#555;max-width:70em}
#main{display:flex;gap:1.5em;align-items:flex-start}
#planes{display:flex;flex-direction:column;gap:1em}
figure{margin:0}
figcaption{font-size:90%;margin:.2em 0}
svg.plane{background:#000;image-rendering:pixelated;cursor:crosshair}
path.roi{fill:transparent;pointer-events:all;vector-effect:non-scaling-stroke;stroke-width:1.2}
path.roi.accepted.soma{stroke:#e69f00}
path.roi.accepted.dendrite{stroke:#56b4e9}
path.roi.rejected{stroke:#9a9a9a;stroke-dasharray:2 2}
path.roi.you-accepted{stroke:#00e060;stroke-width:2.2}
path.roi.you-rejected{stroke:#ff3030;stroke-width:2.2;stroke-dasharray:3 2}
path.roi.selected{stroke:#fff !important;stroke-width:3 !important;stroke-dasharray:none !important}
#side{min-width:24em;max-width:30em;position:sticky;top:1em}
#side table{border-collapse:collapse;font-size:90%}
#side td{padding:.1em .6em .1em 0}
button{margin:.2em .3em .2em 0;padding:.3em .8em}
#decisions{width:100%;height:12em;font-family:monospace;font-size:85%}
.legend span{display:inline-block;margin-right:1em;font-size:85%}
.swatch{display:inline-block;width:1.2em;height:.25em;vertical-align:middle;margin-right:.3em}
#trace{background:#fafafa;border:1px solid #ddd;max-width:100%}
</style></head><body>
<h1>%TITLE%</h1>
<p class=help>Every candidate ROI is outlined: accepted somata orange, accepted dendrites blue,
rejected candidates grey (dashed). Click an ROI to see its trace and features, then
<b>Accept</b> (key <kbd>a</kbd>) or <b>Reject</b> (<kbd>r</kbd>); <b>Undo</b> (<kbd>u</kbd>) returns it to
the detector's decision; <kbd>n</kbd>/<kbd>p</kbd> step through the plane's ROIs. Your decisions are
drawn green (accepted) and red (rejected). <b>Save decisions</b> downloads decisions.json; apply it with
<code>apical curate SESSION decisions.json</code>, then <code>apical run SESSION --update</code>.</p>
<p class=legend><span><i class=swatch style="background:#e69f00"></i>soma</span><span><i class=swatch
style="background:#56b4e9"></i>dendrite</span><span><i class=swatch style="background:#9a9a9a"></i>rejected</span><span><i
class=swatch style="background:#00e060"></i>accepted by you</span><span><i class=swatch style="background:#ff3030"></i>rejected
by you</span> Image: <button id=show-mean>mean</button><button id=show-correlation>correlation</button></p>
<div id=main><div id=planes></div><div id=side>
<h2 id=selected>No ROI selected</h2>
<div><button id=accept disabled>Accept</button><button id=reject disabled>Reject</button><button id=undo
disabled>Undo</button></div>
<p id=status></p>
<svg id=trace width=420 height=140 viewBox="0 0 420 140"></svg>
<p id=trace-note class=help></p>
<table id=features></table>
<h2>Decisions</h2>
<p id=counts></p>
<button id=save>Save decisions</button>
<textarea id=decisions readonly></textarea>
</div></div>
<script type="application/json" id=apical-data>)PAGE";

const char* const kTail = R"PAGE(</script>
<script>
"use strict";
const A = JSON.parse(document.getElementById("apical-data").textContent);
const SVG = "http://www.w3.org/2000/svg";
const decisions = new Map();  // "plane:roi" -> true (accept) | false (reject)
const outlines = new Map();   // "plane:roi" -> its SVG path
const storageKey = "apical-curation-" + A.identity.fingerprint;
let selected = null, image = "mean";
const $ = (id) => document.getElementById(id);
const key = (p, i) => p + ":" + i;
const roi = (p, i) => A.planes[p].rois[i];

function state(p, i) {
  const k = key(p, i);
  if (decisions.has(k)) return decisions.get(k) ? "you-accepted" : "you-rejected";
  return roi(p, i).rej === 0 ? "accepted" : "rejected";
}
function paint(p, i) {
  const el = outlines.get(key(p, i));
  const sel = selected && selected[0] === p && selected[1] === i;
  el.setAttribute("class", "roi " + roi(p, i).kind + " " + state(p, i) + (sel ? " selected" : ""));
}
function reason(p, i) {
  const r = roi(p, i), plane = A.planes[p];
  if (r.rej === 0) return "accepted" + (r.cur ? " (curated)" : " by the detector");
  return "rejected: " + (plane.reasons[r.rej] || ("code " + r.rej));
}
function drawPlanes() {
  A.planes.forEach((plane, p) => {
    const fig = document.createElement("figure");
    const accepted = plane.rois.filter((r) => r.rej === 0).length;
    const caption = document.createElement("figcaption");
    caption.textContent = "plane " + p + " (" + plane.role + "): " + plane.rois.length + " candidates, " + accepted + " accepted";
    const scale = Math.max(1, Math.min(4, Math.floor(600 / Math.max(plane.width, plane.height))));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "plane");
    svg.id = "plane-" + p;
    svg.setAttribute("viewBox", "0 0 " + plane.width + " " + plane.height);
    svg.setAttribute("width", plane.width * scale);
    svg.setAttribute("height", plane.height * scale);
    const img = document.createElementNS(SVG, "image");
    img.id = "image-" + p;
    img.setAttribute("width", plane.width);
    img.setAttribute("height", plane.height);
    img.setAttribute("preserveAspectRatio", "none");
    svg.appendChild(img);
    // Rejected candidates first, so accepted ROIs lie on top and take the click where they overlap.
    const order = plane.rois.map((r, i) => i).sort((a, b) => (plane.rois[a].rej === 0) - (plane.rois[b].rej === 0));
    for (const i of order) {
      const path = document.createElementNS(SVG, "path");
      path.id = "roi-" + p + "-" + i;
      path.setAttribute("d", plane.rois[i].d);
      path.dataset.plane = p;
      path.dataset.roi = i;
      path.addEventListener("click", () => select(p, i));
      outlines.set(key(p, i), path);
      svg.appendChild(path);
      paint(p, i);
    }
    fig.appendChild(caption);
    fig.appendChild(svg);
    $("planes").appendChild(fig);
  });
  showImage("mean");
}
function showImage(which) {
  image = which;
  A.planes.forEach((plane, p) => {
    const uri = plane[which] || plane.mean;
    if (uri) document.getElementById("image-" + p).setAttribute("href", uri);
  });
}
function drawTrace(p, i) {
  const svg = $("trace");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const t = roi(p, i).t && roi(p, i).t.map((v) => v === null ? null : v / 1000);  // stored in thousandths
  if (!t) {
    $("trace-note").textContent = roi(p, i).rej === 0 ? (A.traces_note || "no trace for this ROI") :
      "No trace: rejected candidates are not extracted. Accept it, apply with apical curate and run apical run --update to see it.";
    return;
  }
  const values = t.filter((v) => v !== null);
  const lo = Math.min(0, ...values), hi = Math.max(lo + 1e-3, ...values);
  const W = 420, H = 140, pad = 16;
  const points = [];
  t.forEach((v, k) => { if (v !== null) points.push((pad + k * (W - 2 * pad) / Math.max(1, t.length - 1)).toFixed(1) + "," +
    (H - pad - (v - lo) / (hi - lo) * (H - 2 * pad)).toFixed(1)); });
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", roi(p, i).kind === "soma" ? "#b07800" : "#1f78b4");
  svg.appendChild(line);
  const label = (x, y, text) => { const el = document.createElementNS(SVG, "text"); el.setAttribute("x", x);
    el.setAttribute("y", y); el.setAttribute("font-size", "11"); el.textContent = text; svg.appendChild(el); };
  label(2, 11, "dF/F " + hi.toFixed(2));
  label(2, H - 3, lo.toFixed(2));
  const seconds = A.planes[p].trace_seconds;
  label(W - 90, H - 3, seconds ? seconds.toFixed(0) + " s" : t.length + " bins");
  $("trace-note").textContent = "dF/F (traces.h5), " + t.length + " time bins";
}
function showFeatures(p, i) {
  const r = roi(p, i), rows = [["kind", r.kind], ["detector", reason(p, i)]];
  if (r.src !== undefined) rows.push(["found on", A.planes[p].sources[r.src] || r.src]);
  for (const [name, value] of Object.entries(r.f)) rows.push([name.replace(/_/g, " "), value]);
  const table = $("features");
  table.innerHTML = "";
  for (const [name, value] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = name;
    tr.insertCell().textContent = value;
  }
}
function select(p, i) {
  const previous = selected;
  selected = [p, i];
  if (previous) paint(previous[0], previous[1]);
  paint(p, i);
  $("selected").textContent = "plane " + p + ", ROI " + i;
  for (const id of ["accept", "reject", "undo"]) $(id).disabled = false;
  showStatus();
  drawTrace(p, i);
  showFeatures(p, i);
}
function showStatus() {
  if (!selected) return;
  const [p, i] = selected, k = key(p, i);
  $("status").textContent = decisions.has(k) ? "your decision: " + (decisions.get(k) ? "accept" : "reject") +
    " (detector: " + reason(p, i) + ")" : reason(p, i);
}
function decisionsJson() {
  const list = [...decisions.entries()].map(([k, accepted]) => {
    const [plane, r] = k.split(":").map(Number);
    return {plane: plane, roi: r, accepted: accepted};
  }).sort((a, b) => a.plane - b.plane || a.roi - b.roi);
  return JSON.stringify({apical_curation: 1, session: A.session, rois_h5: A.identity, decisions: list}, null, 1);
}
function refresh() {
  $("decisions").value = decisionsJson();
  let accepted = 0, rejected = 0;
  for (const v of decisions.values()) v ? ++accepted : ++rejected;
  $("counts").textContent = decisions.size + " decision(s): " + accepted + " accepted, " + rejected + " rejected by you";
  try { localStorage.setItem(storageKey, JSON.stringify([...decisions.entries()])); } catch (e) {}
}
function decide(value) {
  if (!selected) return;
  const [p, i] = selected;
  if (value === null) decisions.delete(key(p, i)); else decisions.set(key(p, i), value);
  paint(p, i);
  showStatus();
  refresh();
}
function step(delta) {
  if (!selected) return select(0, 0);
  const [p, i] = selected, n = A.planes[p].rois.length;
  select(p, (i + delta + n) % n);
}
function save() {
  const blob = new Blob([decisionsJson() + "\n"], {type: "application/json"});
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "decisions.json";
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
function restore() {  // decisions made earlier on this very rois.h5 (a reload keeps your work)
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "[]");
    for (const [k, v] of saved) {
      const [p, i] = k.split(":").map(Number);
      if (A.planes[p] && A.planes[p].rois[i]) decisions.set(k, v);
    }
  } catch (e) {}
}
restore();
drawPlanes();
refresh();
$("accept").addEventListener("click", () => decide(true));
$("reject").addEventListener("click", () => decide(false));
$("undo").addEventListener("click", () => decide(null));
$("save").addEventListener("click", save);
$("show-mean").addEventListener("click", () => showImage("mean"));
$("show-correlation").addEventListener("click", () => showImage("correlation"));
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "TEXTAREA") return;
  const actions = {a: () => decide(true), r: () => decide(false), u: () => decide(null), n: () => step(1), p: () => step(-1)};
  if (actions[e.key]) actions[e.key]();
});
</script></body></html>
)PAGE";

std::string html_text(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

}  // namespace

std::string roi_page_document(const std::string& title, const std::string& data_json) {
  std::string head = kHead;
  for (size_t at; (at = head.find("%TITLE%")) != std::string::npos;) head.replace(at, 7, html_text(title));
  // JSON inside <script>: "</" would end the element; "<\/" is the same JSON string.
  std::string data = data_json;
  for (size_t at = 0; (at = data.find("</", at)) != std::string::npos; at += 3) data.replace(at, 2, "<\\/");
  return head + data + kTail;
}

}  // namespace apical
