// Framewise admin: keeps [data-live] regions current by fetching their fragment URL again.
// Timers are paused while the tab is hidden and a refresh runs as soon as it is shown again,
// so a tab that slept (or a laptop that was closed) catches up at once instead of waiting.
"use strict";

(function () {
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
    var busy = false;
    var last = null;  // the fragment last shown: unchanged rows are left alone (focus, selection)

    function schedule(ms) {
      clearTimeout(timer);
      if (!document.hidden) {
        timer = setTimeout(refresh, ms);
      }
    }

    function refresh() {
      if (busy) { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected && response.url.indexOf("/admin/login") !== -1) {
            say(region, "Your session ended: reload the page to log in again.");
            return null;  // stop polling: a login page is not a fragment
          }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text().then(function (html) {
            if (html === last) {
              say(region, "Updated " + clock());
              delay = every;
              schedule(delay);
              return;
            }
            last = html;
            var focused = document.activeElement;
            var focusHref = region.contains(focused) && focused.getAttribute ? focused.getAttribute("href") : null;
            region.innerHTML = html;
            if (focusHref) {
              var again = region.querySelector('[href="' + focusHref.replace(/"/g, '\\"') + '"]');
              if (again) { again.focus(); }
            }
            say(region, "Updated " + clock());
            delay = every;
            schedule(delay);
          });
        })
        .catch(function () {
          delay = Math.min(delay * 2, 30000);  // back off while the server is away
          say(region, "Connection lost; retrying in " + Math.round(delay / 1000) + " s");
          schedule(delay);
        })
        .then(function () { busy = false; });
    }

    function wake() {
      if (!document.hidden) { delay = every; refresh(); }
      else { clearTimeout(timer); }
    }

    document.addEventListener("visibilitychange", wake);
    window.addEventListener("pageshow", wake);
    window.addEventListener("online", wake);
    schedule(delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), live);
  });
})();
