// Trend charts of each app (issue 18 item 3): accepted and applied messages per second and the
// decision latency (accept to commit, p50 and p99) over the last 15 minutes, as the listener
// samples them (GET /v1/apps/{app}/trends). Drawn as inline SVG here, with no library: the page
// must work on an operator network without a CDN. situation.js asks trendCharts(app) for each app
// section it draws; the same node is handed back every time, so a redraw of the section does not
// redraw the charts, and they change only when new samples arrive.
"use strict";

const TRENDS_SVG = "http://www.w3.org/2000/svg";
const TRENDS_WIDTH = 300;
const TRENDS_HEIGHT = 64;
const trendBoxes = new Map();
let trendEvery = 5000;

function trendCharts(app) {
  let box = trendBoxes.get(app);
  if (!box) {
    box = document.createElement("div");
    box.className = "trends";
    box.dataset.trends = app;
    box.textContent = "trends: waiting for two samples…";
    trendBoxes.set(app, box);
    fetchTrends(app);
  }
  return box;
}

function trendSvg(tag, attributes) {
  const node = document.createElementNS(TRENDS_SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// A path per series, broken where a value is missing (a worker that did not answer), scaled to
// the largest value of the chart so two series share one axis.
function trendChart(name, title, points, series, unit, scale) {
  const times = points.map((p) => p.time);
  const first = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - first);
  let top = 0;
  for (const s of series) for (const p of points) if (p[s.key] != null) top = Math.max(top, p[s.key] * scale);
  if (!(top > 0)) top = 1;
  const svg = trendSvg("svg", {
    class: "trend-chart", "data-chart": name, viewBox: "0 0 " + TRENDS_WIDTH + " " + TRENDS_HEIGHT,
    width: TRENDS_WIDTH, height: TRENDS_HEIGHT, role: "img",
  });
  svg.append(trendSvg("line", { class: "axis", x1: 0, y1: TRENDS_HEIGHT - 1, x2: TRENDS_WIDTH, y2: TRENDS_HEIGHT - 1 }));
  // The top of the scale, so the height of a line reads as a number.
  const scaleLabel = trendSvg("text", { class: "scale", x: TRENDS_WIDTH - 3, y: 10, "text-anchor": "end" });
  scaleLabel.textContent = trendNumber(top) + unit;
  svg.append(scaleLabel);
  const legend = document.createElement("div");
  legend.className = "trend-legend";
  legend.append(document.createTextNode(title + " "));
  for (const s of series) {
    let d = "";
    let drawn = 0;
    let pen = "M";
    for (const p of points) {
      const value = p[s.key];
      if (value == null) { pen = "M"; continue; }
      const x = ((p.time - first) / span) * (TRENDS_WIDTH - 2) + 1;
      const y = TRENDS_HEIGHT - 2 - (value * scale / top) * (TRENDS_HEIGHT - 6);
      d += pen + x.toFixed(1) + " " + y.toFixed(1) + " ";
      pen = "L";
      drawn += 1;
    }
    svg.append(trendSvg("path", { class: "series " + s.key, d: d.trim() || "M0 0", "data-series": s.key, "data-points": drawn }));
    const last = [...points].reverse().find((p) => p[s.key] != null);
    const figure = document.createElement("span");
    figure.className = "series " + s.key;
    figure.textContent = s.label + " " + (last ? trendNumber(last[s.key] * scale) + unit : "–");
    legend.append(figure, document.createTextNode(" "));
  }
  const figure = document.createElement("figure");
  figure.className = "trend";
  figure.append(svg, legend);
  return figure;
}

function trendNumber(value) {
  return value >= 100 ? Math.round(value).toString() : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function drawTrends(box, answer) {
  const points = answer.points || [];
  if (points.length < 1) return;
  const minutes = Math.round(((points[points.length - 1].time - points[0].time) / 60000) * 10) / 10;
  box.dataset.points = points.length;
  box.replaceChildren(
    trendChart("rates", "messages/s", points, [
      { key: "accepted_per_s", label: "accepted" }, { key: "applied_per_s", label: "applied" },
    ], "", 1),
    trendChart("latency", "decision latency", points, [
      { key: "latency_p50_s", label: "p50" }, { key: "latency_p99_s", label: "p99" },
    ], " ms", 1000));
  const span = document.createElement("div");
  span.className = "trend-span";
  span.textContent = "last " + minutes + " min";
  box.append(span);
}

async function fetchTrends(app) {
  const box = trendBoxes.get(app);
  // An app that left the page (removed on SIGHUP) stops being asked.
  if (!box || (box.isConnected === false && box.dataset.points)) {
    trendBoxes.delete(app);
    return;
  }
  try {
    const response = await fetch("/v1/apps/" + encodeURIComponent(app) + "/trends", { cache: "no-store" });
    if (response.ok) {
      const answer = await response.json();
      if (answer.interval_s > 0) trendEvery = Math.max(1000, answer.interval_s * 1000);
      drawTrends(box, answer);
    }
  } catch (error) {
    // The situation poll already says when the listener is unreachable; keep the last charts.
  } finally {
    setTimeout(() => fetchTrends(app), trendEvery);
  }
}
