// The console works without this file; it only adds small conveniences.
// (No inline script anywhere: the Content-Security-Policy allows scripts from 'self' only.)
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Put the cursor on the first field that the service refused.
  const invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();
  // A form is sent once: a second tap on a slow connection does not record twice
  // (delegated: forms swapped in by a live list are covered too).
  document.addEventListener("submit", (event) => {
    for (const button of event.target.querySelectorAll("button[type=submit]")) {
      setTimeout(() => { button.disabled = true; }, 0);
    }
  });
  live();
});

// A live list (data-live: its server-sent events): when the server says it changed,
// fetch the page again and swap the list in place, without a reload.
function live() {
  const region = document.getElementById("live");
  if (!region || !window.EventSource) return;
  let source = null;
  const listen = () => {
    source = new EventSource(region.dataset.live);
    source.addEventListener("changed", refresh);
    source.addEventListener("signed-out", () => source.close());
  };
  async function refresh() {
    const answer = await fetch(location.href, { credentials: "same-origin" });
    if (!answer.ok || answer.redirected) return;
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById("live");
    if (!fresh) return;
    region.innerHTML = fresh.innerHTML;
    if (fresh.dataset.live !== region.dataset.live) {
      region.dataset.live = fresh.dataset.live;
      source.close();
      listen();
    }
  }
  listen();
}
