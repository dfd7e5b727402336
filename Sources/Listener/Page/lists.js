// The app's black- and whitelist with their expiries (issue 18 item 3), from the worker's `lists`
// answer inside /v1/situation: the soonest to expire first, permanent entries last, and how many
// each list holds in all. URLs come from messages: set as text only, like everything on the page.
"use strict";

function listPanel(app, now) {
  const answer = app.lists;
  if (!answer) return document.createTextNode("");
  const box = document.createElement("div");
  box.className = "lists";
  for (const name of ["blacklist", "whitelist"]) {
    const total = (answer.totals || {})[name] || 0;
    const entries = (answer.entries || []).filter((e) => e.list === name);
    const block = document.createElement("div");
    block.dataset.list = name;
    block.dataset.total = total;
    const title = document.createElement("h3");
    title.textContent = name + " (" + total + ")";
    block.append(title);
    const items = document.createElement("ul");
    for (const entry of entries) {
      const item = document.createElement("li");
      item.dataset.url = entry.url;
      const url = document.createElement("code");
      url.textContent = entry.url;
      const expiry = document.createElement("span");
      expiry.className = "expiry";
      if (entry.expires_at == null) {
        expiry.textContent = "permanent";
      } else {
        expiry.dataset.expiresAt = entry.expires_at;
        expiry.textContent = "expires in " + duration(Number(entry.expires_at) - now);
      }
      item.append(url, " ", expiry);
      items.append(item);
    }
    if (total > entries.length) {
      const more = document.createElement("li");
      more.className = "none";
      more.textContent = (total - entries.length) + " more (mimicctl / Redis mimic:" + app.app + ":list:" + name + ")";
      items.append(more);
    }
    if (!total) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = "empty";
      items.append(none);
    }
    block.append(items);
    box.append(block);
  }
  return box;
}
