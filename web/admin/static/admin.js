// Framewise admin: keeps [data-live] regions current by fetching their fragment URL again.
// Timers stop while the tab is hidden or frozen, and a refresh runs as soon as it is shown or
// resumed, so a tab that slept (or a laptop that was closed) catches up at once. A request left
// hanging across a sleep is abandoned (AbortController), never waited on.
"use strict";

(function () {
  var REQUEST_TIMEOUT = 15000;

  function statusNodes(region) {
    return Array.prototype.filter.call(document.querySelectorAll("[data-live-status]"), function (node) {
      return !region.contains(node);
    });
  }

  function say(region, text) {
    statusNodes(region).forEach(function (node) { node.textContent = text; });
  }

  function clock() {
    return new Date().toISOString().slice(11, 19) + " UTC";
  }

  function live(region) {
    var url = region.getAttribute("data-live");
    var every = parseInt(region.getAttribute("data-live-every"), 10) || 3000;
    var delay = every;
    var timer = null;
    var inflight = null;  // the AbortController of the request under way
    var last = null;  // the fragment last shown: unchanged rows are left alone (focus, selection)
    var stopped = false;

    function schedule(ms) {
      clearTimeout(timer);
      if (!document.hidden && !stopped) {
        timer = setTimeout(refresh, ms);
      }
    }

    function show(html) {
      if (html !== last) {
        last = html;
        var focused = document.activeElement;
        var focusHref = region.contains(focused) && focused.getAttribute ? focused.getAttribute("href") : null;
        region.innerHTML = html;
        if (focusHref) {
          var again = region.querySelector('[href="' + focusHref.replace(/"/g, '\\"') + '"]');
          if (again) { again.focus(); }
        }
      }
      say(region, "Updated " + clock());
    }

    function refresh() {
      if (inflight) { inflight.abort(); }
      var mine = new AbortController();
      inflight = mine;
      var deadline = setTimeout(function () { mine.abort(); }, REQUEST_TIMEOUT);
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" },
                   signal: mine.signal })
        .then(function (response) {
          if (response.redirected && response.url.indexOf("/admin/login") !== -1) {
            stopped = true;  // a login page is not a fragment
            say(region, "Your session ended: reload the page to log in again.");
            return null;
          }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text().then(function (html) {
            if (inflight !== mine) { return; }  // a newer request took over
            show(html);
            delay = every;
            schedule(delay);
          });
        })
        .catch(function () {
          if (inflight !== mine) { return; }
          delay = Math.min(delay * 2, 30000);  // back off while the server is away
          say(region, "Connection lost; retrying in " + Math.round(delay / 1000) + " s");
          schedule(delay);
        })
        .then(function () {
          clearTimeout(deadline);
          if (inflight === mine) { inflight = null; }
        });
    }

    function wake() {
      if (document.hidden) { clearTimeout(timer); return; }
      delay = every;
      refresh();
    }

    document.addEventListener("visibilitychange", wake);
    document.addEventListener("resume", wake);  // Page Lifecycle: a frozen tab thawed
    document.addEventListener("freeze", function () { clearTimeout(timer); });
    window.addEventListener("pageshow", function (event) { if (event.persisted) { wake(); } });
    window.addEventListener("online", wake);
    schedule(delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), live);
  });
})();
