// Live updates for dashboard pages, from the WebSocket /api/v1/stream.
//
// The page says what to follow and where to show it:
//   <body data-project-id="7">   one project; empty or absent: every project
//                                 the signed-in user may see
//   <div id="toasts">             toasts for new issues and regressions
//                                 (created at the end of <body> if missing)
//   data-live-count="issue-ID"    text set to the issue's event count
//   data-live-seen="issue-ID"     a <time> of the issue's last event, set
//                                 to "just now" and the event's time
//   data-live-unresolved="project-ID"  text incremented per new issue or
//                                 regression
//   data-live-first-issue="project-ID"  a project's "no errors yet" box:
//                                 the page reloads on the project's first new
//                                 issue, so the list shows it (while a form
//                                 field has the focus, the box's first line
//                                 links to it instead, keeping what is typed)
//   data-live-env="production"    on a count or seen element: the page shows
//                                 the issue's figures in that environment,
//                                 so only its events change them, a count by
//                                 one (a message's count is the issue's own)
// Count elements must hold a plain integer. Every message is also
// dispatched on document as a "flytrap:live" CustomEvent for page scripts.
//
// Titles come from SDKs, so they are only ever set with textContent, and
// their direction controls are written out as the server's pages do.
(function () {
  "use strict";

  var TOAST_MS = 8000;
  var MAX_TOASTS = 5;
  var MIN_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  // A connection that lasted this long was healthy: the next failure
  // starts the backoff over.
  var HEALTHY_MS = 10000;

  var delay = MIN_DELAY_MS;

  // Unicode's Bidi_Control characters, which the server writes out on its
  // pages as "<U+202E>" (internal/dashboard showBidi): a title must not
  // read as something else in a toast either.
  var BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  function showBidi(s) {
    return s.replace(BIDI, function (c) {
      return "<U+" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + ">";
    });
  }

  function streamURL() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/stream";
    var project = document.body.dataset.projectId;
    if (project) {
      url += "?project=" + encodeURIComponent(project);
    }
    return url;
  }

  function connect() {
    var ws = new WebSocket(streamURL());
    var openedAt = 0;
    ws.addEventListener("open", function () {
      openedAt = Date.now();
    });
    ws.addEventListener("message", function (e) {
      var m;
      try {
        m = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      handle(m);
    });
    // A refused handshake (401, 404) also ends here: browsers do not say
    // why, so every failure is retried, ever more slowly.
    ws.addEventListener("close", function () {
      if (openedAt && Date.now() - openedAt > HEALTHY_MS) {
        delay = MIN_DELAY_MS;
      }
      // Jitter spreads the reconnects of many tabs after a restart.
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  }

  function isID(v) {
    return typeof v === "number" && Number.isInteger(v) && v > 0;
  }

  function shown(el) {
    return parseInt(el.textContent.replace(/\D/g, ""), 10) || 0;
  }

  function handle(m) {
    // The IDs go into selectors and a link: accept numbers only.
    if (!m || !isID(m.issue_id) || !isID(m.project_id)) {
      return;
    }
    document.querySelectorAll('[data-live-count="issue-' + m.issue_id + '"]').forEach(function (el) {
      if (el.hasAttribute("data-live-env")) {
        if (m.environment === el.getAttribute("data-live-env")) {
          el.textContent = String(shown(el) + 1);
        }
        return;
      }
      // Count 0 means the server could not read it: count this event.
      // Otherwise never go backwards: messages may arrive out of order.
      el.textContent = String(m.count > 0 ? Math.max(shown(el), m.count) : shown(el) + 1);
    });
    var at = typeof m.at === "string" ? new Date(m.at) : null;
    if (at && !isNaN(at.getTime())) {
      document.querySelectorAll('[data-live-seen="issue-' + m.issue_id + '"]').forEach(function (el) {
        if (el.hasAttribute("data-live-env") && m.environment !== el.getAttribute("data-live-env")) {
          return;
        }
        // Never go backwards: messages may arrive out of order.
        var was = new Date(el.getAttribute("datetime"));
        if (!isNaN(was.getTime()) && was >= at) {
          return;
        }
        el.setAttribute("datetime", at.toISOString());
        el.title = at.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
        el.textContent = "just now";
      });
    }
    if (m.type === "issue.new" || m.type === "issue.regression") {
      document.querySelectorAll('[data-live-unresolved="project-' + m.project_id + '"]').forEach(function (el) {
        el.textContent = String(shown(el) + 1);
      });
      toast(m);
      firstIssue(m);
    }
    document.dispatchEvent(new CustomEvent("flytrap:live", { detail: m }));
  }

  function firstIssue(m) {
    var box = document.querySelector('[data-live-first-issue="project-' + m.project_id + '"]');
    if (!box || m.type !== "issue.new") {
      return;
    }
    var focused = document.activeElement;
    if (!focused || !/^(INPUT|TEXTAREA|SELECT)$/.test(focused.tagName)) {
      location.reload();
      return;
    }
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = "First error received: ";
    var a = document.createElement("a");
    a.href = "/issues/" + m.issue_id;
    a.textContent = showBidi(String(m.issue_title || m.title || "issue " + m.issue_id));
    p.appendChild(strong);
    p.appendChild(a);
    box.replaceChild(p, box.firstElementChild);
    box.removeAttribute("data-live-first-issue");
  }

  function toastBox() {
    var box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      document.body.appendChild(box);
    }
    if (!box.hasAttribute("aria-live")) {
      box.setAttribute("aria-live", "polite");
    }
    return box;
  }

  function toast(m) {
    var box = toastBox();
    var el = document.createElement("div");
    el.className = "toast " + (m.type === "issue.new" ? "toast-new" : "toast-regression");

    var label = document.createElement("strong");
    label.textContent = m.type === "issue.new" ? "New issue" : "Regression";
    var link = document.createElement("a");
    link.href = "/issues/" + m.issue_id;
    // The toast is about the issue; the message's own title is its event's.
    link.textContent = showBidi(m.issue_title || m.title || "(no title)");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () {
      dismiss(el);
    });
    el.append(label, " ", link, close);

    box.appendChild(el);
    // A burst of new issues must not bury the page.
    while (box.children.length > MAX_TOASTS) {
      box.firstElementChild.remove();
    }
    setTimeout(function () {
      dismiss(el);
    }, TOAST_MS);
  }

  function dismiss(el) {
    if (!el.isConnected || el.classList.contains("toast-hide")) {
      return;
    }
    // CSSOM styles are allowed under a CSP without 'unsafe-inline'.
    el.classList.add("toast-hide");
    el.style.transition = "opacity 0.3s";
    el.style.opacity = "0";
    setTimeout(function () {
      el.remove();
    }, 300);
  }

  function start() {
    if ("WebSocket" in window) {
      connect();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
