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
      // Each answer carries a fresh CSRF token; a change of token alone is not a change.
      var same = html.replace(/name="csrf_token" value="[^"]*"/g, "");
      if (same !== last) {
        last = same;
        var focused = document.activeElement;
        var inside = region.contains(focused) && focused.getAttribute;
        var focusHref = inside ? focused.getAttribute("href") : null;
        var focusForm = inside && focused.form ? focused.form.getAttribute("action") : null;
        region.innerHTML = html;
        var again = null;
        if (focusHref) {
          again = region.querySelector('[href="' + focusHref.replace(/"/g, '\\"') + '"]');
        } else if (focusForm) {
          again = region.querySelector('form[action="' + focusForm.replace(/"/g, '\\"') + '"] button');
        }
        if (again) { again.focus(); }
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
    region.framewiseRefresh = wake;
    schedule(delay);
  }

  // Forms with data-confirm ask first. Forms marked data-inline (job actions, redeliver) are sent with fetch: the answer's message
  // goes to the page's [data-form-status] line and every live region refreshes at once, so the
  // page follows what the action did without a reload. The CSRF token travels in the form body.
  function submitInline(event) {
    var form = event.target;
    if (!form.matches) { return; }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (!form.matches("form[data-inline]")) { return; }
    event.preventDefault();
    var status = document.querySelector("[data-form-status]");
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                         headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { response: response, body: body }; },
                                     function () { return { response: response, body: { message: "HTTP " + response.status } }; });
      })
      .then(function (answer) {
        if (status) { status.textContent = answer.body.message; }
        if (answer.body.ok && answer.body.location && answer.body.location !== window.location.pathname) {
          window.location.assign(answer.body.location);  // a new job, or a deleted one: go where it went
          return;
        }
        Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (region) {
          if (region.framewiseRefresh) { region.framewiseRefresh(); }
        });
      })
      .catch(function () { if (status) { status.textContent = "The request failed; try again."; } })
      .then(function () { if (button && document.contains(button)) { button.disabled = false; } });
  }

  document.addEventListener("submit", submitInline);
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), live);
  });
})();
