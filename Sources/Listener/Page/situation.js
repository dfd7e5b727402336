// Draws GET /v1/situation and polls it (every second; ?every=<ms> to change). Every value is set
// with textContent, never as HTML: reasons and URLs in events come from messages, and this page
// must not run what a WAF report or an attacker-chosen URL contains.
"use strict";

const STATES = ["online", "standby", "initializing", "cleaning", "dirty", "offline"];
const TIMELINE_LENGTH = 30;
const params = new URLSearchParams(location.search);
const every = Math.max(200, Number(params.get("every")) || 1000);

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function duration(ms) {
  if (!(ms >= 0)) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + "s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + "m " + (s % 60) + "s";
  const h = Math.floor(m / 60);
  if (h < 48) return h + "h " + (m % 60) + "m";
  return Math.floor(h / 24) + "d " + (h % 24) + "h";
}

function clock(ms) {
  const date = new Date(Number(ms));
  return isNaN(date) ? "" : date.toLocaleTimeString([], { hour12: false });
}

function rate(value) {
  const n = Number(value) || 0;
  return n >= 100 ? Math.round(n).toString() : n.toFixed(1);
}

function workerHead(app) {
  const worker = app.worker || {};
  const scheduler = app.scheduler;
  const head = el("div", { class: "app-head" }, el("h2", {}, app.app));
  head.append(el("span", { class: "badge " + (worker.up ? "good" : "bad"), "data-worker-state": worker.state },
    "worker " + (worker.state || "unknown") + (worker.pid ? " · pid " + worker.pid : "")));
  // The instance that runs the app's worker: in cluster mode its lease holder, none while the lease is free.
  head.append(el("span", { class: "badge " + (app.owner ? "good" : "bad"), "data-owner": app.owner || "" },
    "owner " + (app.owner || "none")));
  if (scheduler) {
    head.append(el("span", { class: "badge " + (scheduler.redis === "up" ? "good" : "bad"), "data-redis": scheduler.redis },
      "redis " + scheduler.redis));
    if (scheduler.paused) head.append(el("span", { class: "badge warn", "data-paused": "true" }, "paused"));
    // Each is a message that had no effect: a frame the worker kept dying on, or journal records
    // gone before they were applied (DESIGN section 10). Shown only when it happened.
    if (scheduler.dead_letters) head.append(el("span", { class: "badge bad", "data-dead-letters": scheduler.dead_letters },
      scheduler.dead_letters + " dead-lettered"));
    if (scheduler.skipped) head.append(el("span", { class: "badge bad", "data-skipped": scheduler.skipped },
      scheduler.skipped + " skipped (journal gap)"));
  }
  const journal = app.journal || {};
  // Seqs the worker needed that were older than journal_retain: skipped, never replayed.
  // The worker's all-time count (above) wins; the listener's counts since its start.
  if (journal.skipped && !(scheduler && scheduler.skipped)) {
    head.append(el("span", { class: "badge bad", "data-skipped": journal.skipped }, journal.skipped + " skipped"));
  }
  const rates = app.rates || {};
  head.append(el("span", { class: "figures" },
    el("b", {}, rate(rates.accepted_per_s)), " accepted/s · ",
    el("b", {}, rate(rates.acked_per_s)), " applied/s · backlog ",
    el("b", { "data-backlog": journal.backlog_messages || 0 }, journal.backlog_messages || 0), " msgs · acked seq ",
    el("b", {}, app.last_acked_seq || 0),
    scheduler ? " · online set v" + scheduler.online_version + " · up " + duration((scheduler.uptime_s || 0) * 1000) : ""));
  return head;
}

function hosts(app) {
  const list = (app.scheduler && app.scheduler.hosts) || {};
  const names = Object.keys(list).sort();
  const box = el("div", { class: "hosts" });
  if (!names.length) box.append(el("span", { class: "none" }, "no host status"));
  for (const name of names) {
    box.append(el("span", { class: "host", "data-host": name, "data-host-status": list[name] }, name + " " + list[name]));
  }
  return box;
}

function executorGroups(app, now) {
  const executors = app.executors || [];
  const box = el("div", { class: "executors" });
  for (const state of STATES) {
    const members = executors.filter((e) => e.state === state).sort((a, b) => String(a.id).localeCompare(String(b.id), undefined, { numeric: true }));
    const group = el("div", { class: "state-group", "data-state-group": state }, el("h3", {}, state + " (" + members.length + ")"));
    if (!members.length) {
      group.append(el("div", { class: "none" }, "none"));
    } else {
      const table = el("table", {}, el("tr", {}, ...["id", "variant", "host", "endpoint", "confidence", "in state", "reason"].map((h) => el("th", {}, h))));
      for (const e of members) {
        const confidence = Math.max(0, Math.min(1, Number(e.confidence) || 0));
        table.append(el("tr", { "data-executor": e.id, "data-state": e.state, "data-host": e.host, "data-flagged": e.flagged ? "true" : "false" },
          el("td", { class: "id" }, e.id, evidenceMark(app, e.id)),
          el("td", {}, e.variant),
          el("td", {}, e.host),
          el("td", { class: "endpoint" }, e.endpoint || "–"),
          el("td", { class: "confidence" }, el("span", { class: "meter" }, el("span", { style: "width:" + Math.round(confidence * 100) + "%" })), confidence.toFixed(2)),
          el("td", { class: "since" }, duration(now - Number(e.since))),
          el("td", { class: "why" }, e.reason || "")));
      }
      group.append(table);
    }
    box.append(group);
  }
  return box;
}

// The worker keeps what an analyst needs of an executor that went dirty (issue 19 item 5): the
// mark links the manifest and changes the listener serves, and names the command that prints the rest.
function evidenceMark(app, id) {
  const manifest = (app.evidence || {})[id];
  if (!manifest) return "";
  return el("a", {
    class: "evidence", "data-evidence": manifest, target: "_blank",
    href: "/v1/apps/" + encodeURIComponent(app.app) + "/forensics/" + encodeURIComponent(id),
    title: "mimicctl forensics " + app.app + " " + id + "\n" + manifest,
  }, "evidence");
}

function describe(event) {
  switch (event.kind) {
    case "forensics": return [el("b", {}, event.executor), " forensics " + event.status];
    case "transition": return [el("b", {}, event.executor), " " + event.from + " → " + event.to];
    case "host": return ["host ", el("b", {}, event.host), " " + event.to];
    case "list": return [event.list + " " + event.op + " ", el("code", {}, event.url)];
    default: return [event.executor ? el("b", {}, event.executor) : "", event.executor ? " " : "", "note"];
  }
}

function timeline(app) {
  const events = (app.events || []).slice(-TIMELINE_LENGTH).reverse();
  const list = el("ol", { class: "timeline" });
  if (!events.length) list.append(el("li", { class: "none" }, "no events yet"));
  for (const event of events) {
    list.append(el("li", { "data-kind": event.kind, "data-executor": event.executor || null, "data-to": event.to || null },
      el("time", {}, clock(event.time)), ...describe(event),
      event.reason ? el("span", { class: "why" }, " — " + event.reason) : "",
      event.cause ? el("span", { class: "why" }, " (" + event.cause + ")") : ""));
  }
  return list;
}

// One line per app above the details: with tens of apps, what needs a look must show without scrolling.
function overview(apps) {
  const counted = ["online", "standby", "dirty", "offline"];
  const table = el("table", { class: "overview", id: "overview" },
    el("tr", {}, ...["app", "owner", "worker", "redis", ...counted, "hosts down", "dead letters", "accepted/s", "backlog"].map((h) => el("th", {}, h))));
  for (const app of apps) {
    const counts = (app.scheduler && app.scheduler.counts) || {};
    const hosts = (app.scheduler && app.scheduler.hosts) || {};
    const down = Object.keys(hosts).filter((name) => hosts[name] !== "up").sort();
    const worker = app.worker || {};
    const healthy = worker.up && app.scheduler && app.scheduler.redis === "up" && !down.length && !app.scheduler_error
      && !app.scheduler.dead_letters;
    table.append(el("tr", { "data-overview-app": app.app, "data-healthy": healthy ? "true" : "false" },
      el("td", {}, el("a", { href: "#app-" + app.app }, app.app)),
      el("td", { class: app.owner ? "" : "bad", "data-owner": app.owner || "" }, app.owner || "none"),
      el("td", { class: worker.up ? "" : "bad" }, worker.state || "unknown"),
      el("td", { class: app.scheduler && app.scheduler.redis === "up" ? "" : "bad" }, app.scheduler ? app.scheduler.redis : "–"),
      ...counted.map((state) => el("td", { "data-count": state }, app.scheduler ? counts[state] || 0 : "–")),
      el("td", { class: down.length ? "bad" : "", "data-hosts-down": down.length }, down.length ? down.join(", ") : "none"),
      el("td", { class: app.scheduler && app.scheduler.dead_letters ? "bad" : "", "data-dead-letters": app.scheduler ? app.scheduler.dead_letters || 0 : 0 },
        app.scheduler ? app.scheduler.dead_letters || 0 : "–"),
      el("td", {}, rate((app.rates || {}).accepted_per_s)),
      el("td", {}, (app.journal || {}).backlog_messages || 0)));
  }
  return el("section", { class: "app" }, el("h2", {}, "fleet"), table);
}

function appSection(app, now) {
  const section = el("section", { class: "app", "data-app": app.app, id: "app-" + app.app });
  section.append(workerHead(app));
  if (app.scheduler_error) section.append(el("div", { class: "error", "data-scheduler-error": "true" }, app.scheduler_error));
  if (app.scheduler && app.scheduler.redis_error) section.append(el("div", { class: "error" }, "redis: " + app.scheduler.redis_error));
  section.append(hosts(app));
  // trends.js, when loaded, keeps one chart node per app across these redraws.
  if (typeof trendCharts === "function") section.append(trendCharts(app.app));
  if (typeof listPanel === "function") section.append(listPanel(app, now));
  section.append(el("div", { class: "columns" },
    el("div", {}, executorGroups(app, now)),
    el("div", {}, el("h3", {}, "events"), timeline(app))));
  return section;
}

function render(report) {
  const main = document.getElementById("apps");
  const apps = report.apps || [];
  if (!apps.length) {
    main.replaceChildren(el("p", { class: "empty" }, "The listener serves no apps (apps_dir is empty)."));
  } else {
    const now = Number(report.time) || Date.now();
    main.replaceChildren(overview(apps), ...apps.map((app) => appSection(app, now)));
  }
  document.getElementById("updated").textContent = "updated " + clock(report.time);
}

function connection(state, text) {
  const node = document.getElementById("connection");
  node.dataset.connection = state;
  node.textContent = text;
}

async function refresh() {
  try {
    const response = await fetch("/v1/situation?events=" + TIMELINE_LENGTH, { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
    connection("live", "live");
  } catch (error) {
    // Keep the last picture, marked as stale, until the listener answers again.
    connection("lost", "listener unreachable (" + error.message + "), showing the last answer");
  } finally {
    setTimeout(refresh, every);
  }
}

refresh();
