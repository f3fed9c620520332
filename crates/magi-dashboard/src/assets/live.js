// MAGI dashboard: keeps an open tab current. The server says when the metrics store changed (/live, server-sent
// events); the page then fetches itself again and swaps in the new <main>. Nothing runs while the tab is hidden,
// and the page is whole without this script.
"use strict";
(function () {
  var source = null;
  var status = document.getElementById("live");
  var fetching = false;
  var first = true;
  function say(text) { if (status) status.textContent = text; }
  function refresh() {
    if (fetching) return;
    fetching = true;
    fetch(location.href, { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("main");
        var main = document.getElementById("main");
        if (next && main) main.replaceWith(next);
        say("Live: updated " + new Date().toLocaleTimeString());
      })
      .catch(function () { say("Live: the dashboard did not answer; retrying"); })
      .then(function () { fetching = false; });
  }
  function open() {
    if (source || document.hidden || !window.EventSource) return;
    source = new EventSource("/live");
    // A reconnection (the dashboard restarted, the tab came back) may have missed changes: fetch once.
    source.addEventListener("open", function () { say("Live"); if (!first) refresh(); first = false; });
    source.addEventListener("changed", refresh);
    source.addEventListener("error", function () {
      say("Live: reconnecting");
      // A refusal (too many open tabs) closes the stream for good: try again a little later.
      if (source && source.readyState === EventSource.CLOSED) { close(); setTimeout(open, 10000); }
    });
  }
  function close() { if (source) { source.close(); source = null; } }
  document.addEventListener("visibilitychange", function () { document.hidden ? close() : open(); });
  open();
})();
