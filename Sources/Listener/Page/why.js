// "Why is this executor here?" (issue 18 item 5): clicking an executor's row on the page asks
// GET /v1/apps/{app}/executors/{id}/why and shows the chain in a panel beside the page, as
// `mimicctl why` prints it. The panel lives outside <main>, which situation.js redraws every
// second, and listens on the document, so it needs no hook in situation.js. Every value is set
// with textContent: reasons, URLs and messages come from senders.
"use strict";

(function () {
  function node(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null) continue;
      if (name === "class") element.className = value;
      else element.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  function time(ms) {
    const date = new Date(Number(ms));
    return isNaN(date) ? "–" : date.toISOString().replace("T", " ").replace("Z", "");
  }

  function fixed(value) {
    const n = Number(value);
    return isFinite(n) ? n.toFixed(2) : "–";
  }

  function panel() {
    let aside = document.getElementById("why");
    if (!aside) {
      aside = node("aside", { id: "why", class: "why-panel", hidden: "" });
      document.body.append(aside);
    }
    return aside;
  }

  function eventLine(event) {
    let what = event.kind;
    if (event.kind === "transition") what = (event.from || "?") + " → " + (event.to || "?");
    else if (event.kind === "list") what = "list " + (event.url || "");
    const item = node("li", { "data-kind": event.kind, "data-cause": event.cause },
      node("span", { class: "why-time" }, time(event.time)), " ",
      node("b", {}, what), ": " + (event.reason || ""), " ",
      node("span", { class: "why-cause" }, "cause " + event.cause));
    if (event.message) {
      item.append(node("pre", { class: "why-message" }, JSON.stringify(event.message, null, 1)));
    }
    return item;
  }

  function policyList(policy) {
    const list = node("ul", { class: "why-policy" },
      node("li", { "data-policy": "dissents" }, "dissents " + policy.dissents.length + " of " + policy.dissent_threshold +
        " within " + policy.window_ms + " ms"),
      node("li", {}, "degraded reports " + policy.degraded.length + " of " + policy.degraded_threshold +
        ", low-severity alerts " + policy.low_alerts.length + " of " + policy.low_alert_threshold),
      node("li", { "data-policy": "trust" }, "confidence " + fixed(policy.confidence) + ", variant " + policy.variant +
        " trust " + fixed(policy.variant_trust) +
        (policy.learned_trust === undefined || policy.learned_trust === null ? " (learning off)" : ", learned trust " + fixed(policy.learned_trust))));
    for (const pattern of (policy.patterns || []).slice(0, 5)) {
      list.append(node("li", {}, "learned on " + pattern.pattern + ": trust " + fixed(pattern.trust)));
    }
    for (const dissent of policy.url_dissents || []) {
      list.append(node("li", {}, "standing dissent on " + dissent.url + " at " + time(dissent.time)));
    }
    for (const suspicion of policy.suspected_urls || []) {
      list.append(node("li", { "data-policy": "suspected" }, "suspected URL " + suspicion.url + ": " + suspicion.reason));
    }
    return list;
  }

  function show(why) {
    const e = why.executor;
    const aside = panel();
    aside.replaceChildren(
      node("button", { type: "button", class: "why-close", "aria-label": "close" }, "×"),
      node("h3", {}, "why " + why.app + "/" + e.id),
      node("p", { class: "why-state", "data-state": e.state },
        e.state + (e.flagged ? " (flagged)" : "") + " since " + time(e.since) + (e.reason ? ": " + e.reason : "")),
      node("p", { class: "why-where" }, "variant " + e.variant + ", host " + e.host + ", endpoint " + (e.endpoint || "–")),
      node("h4", {}, "events, oldest first (" + why.events.length + " among the newest " + why.searched + ")"),
      node("ol", { class: "why-events" }, ...why.events.map(eventLine)),
      node("h4", {}, "policy memory"),
      policyList(why.policy));
    aside.dataset.executor = e.id;
    aside.dataset.app = why.app;
    aside.hidden = false;
  }

  async function ask(app, id) {
    const aside = panel();
    aside.hidden = false;
    aside.replaceChildren(node("p", {}, "asking why " + app + "/" + id + "…"));
    try {
      const response = await fetch("/v1/apps/" + encodeURIComponent(app) + "/executors/" + encodeURIComponent(id) + "/why",
        { cache: "no-store" });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || "HTTP " + response.status);
      show(answer);
    } catch (error) {
      aside.replaceChildren(node("button", { type: "button", class: "why-close", "aria-label": "close" }, "×"),
        node("p", { class: "error" }, "why " + app + "/" + id + ": " + error.message));
    }
  }

  document.addEventListener("click", (click) => {
    const target = click.target instanceof Element ? click.target : null;
    if (!target) return;
    if (target.closest(".why-close")) {
      panel().hidden = true;
      return;
    }
    // The evidence mark is a link of its own.
    if (target.closest("a")) return;
    const row = target.closest("tr[data-executor]");
    const section = row && row.closest("section[data-app]");
    if (row && section) ask(section.dataset.app, row.dataset.executor);
  });
})();
