// Small enhancements for the server-rendered dashboard. Every page works
// without them: copy buttons stay hidden, "select all" stays hidden, and
// confirmations fall back to the confirmation pages and typed checks the
// server enforces anyway. The CSP allows no inline script, so this file
// is all the page JavaScript there is besides live.js.
(function () {
  "use strict";

  function relabel(btn, text) {
    var old = btn.dataset.label || btn.textContent;
    btn.dataset.label = old;
    btn.textContent = text;
    setTimeout(function () {
      btn.textContent = old;
    }, 1500);
  }

  // Select the element's text so the user can copy it by hand where the
  // clipboard API is unavailable (plain HTTP on a non-local address).
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // <button class="copy" data-copy="ID" hidden> copies the text of #ID.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    var target = document.getElementById(btn.dataset.copy);
    if (!target) {
      return;
    }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      if (!navigator.clipboard || !window.isSecureContext) {
        selectText(target);
        relabel(btn, "Press Ctrl+C");
        return;
      }
      navigator.clipboard.writeText(target.textContent).then(
        function () {
          relabel(btn, "Copied");
        },
        function () {
          selectText(target);
          relabel(btn, "Press Ctrl+C");
        }
      );
    });
  });

  // Bulk selection on the issue list.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var form = all.form;
    var label = all.closest("label");
    if (!form) {
      return;
    }
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="ids"]'));
    if (boxes.length === 0) {
      return;
    }
    if (label) {
      label.hidden = false;
    }
    function sync() {
      var n = boxes.filter(function (b) {
        return b.checked;
      }).length;
      all.checked = n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
      boxes.forEach(function (b) {
        var row = b.closest("tr");
        if (row) {
          row.classList.toggle("selected", b.checked);
        }
      });
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (b) {
        b.checked = all.checked;
      });
      sync();
    });
    boxes.forEach(function (b) {
      b.addEventListener("change", sync);
    });
    // A page restored from the back/forward cache keeps its ticks, which
    // may be of issues a bulk action has since changed: start afresh.
    window.addEventListener("pageshow", function (e) {
      if (e.persisted) {
        boxes.forEach(function (b) {
          b.checked = false;
        });
        sync();
      }
    });
    sync();
  });

  // An alert rule's N and M count only for "more than N events in M
  // minutes"; the server ignores them for other types, so they are hidden
  // while another type is chosen.
  document.querySelectorAll('select[name="type"]').forEach(function (sel) {
    var fields = sel.form ? sel.form.querySelectorAll("[data-frequency-only]") : [];
    function show() {
      fields.forEach(function (f) {
        f.hidden = sel.value !== "frequency";
      });
    }
    sel.addEventListener("change", show);
    show();
  });

  // Esc closes an open popover (Resolve in release…, Assign…) and, when
  // the focus was in it, gives the focus back to its summary, as a menu
  // does.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") {
      return;
    }
    document.querySelectorAll("details.popover[open]").forEach(function (d) {
      var inside = d.contains(document.activeElement);
      d.open = false;
      var summary = d.querySelector("summary");
      if (inside && summary) {
        summary.focus();
      }
    });
  });

  // <form data-confirm="Question?"> asks before submitting.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) {
        e.preventDefault();
      }
    });
  });

  // The server writes times in UTC, the one zone it knows of its reader;
  // the reader's own is shown here. A <time> that reads as a UTC time
  // reads in local time, its title keeping UTC; a relative one ("2 hours
  // ago") gets the local time after the UTC one in its title.
  function local(d) {
    return d.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
    });
  }
  // A breadcrumb's clock keeps its milliseconds, and its date when it is
  // not of the event's day: in UTC, the server gave one; in the reader's
  // zone, its day and the event's (data-event) are compared here.
  function clock(d, withDate) {
    var t = d.toLocaleTimeString(undefined, {
      hour: "2-digit", minute: "2-digit", second: "2-digit",
      fractionalSecondDigits: 3, timeZoneName: "short"
    });
    if (!withDate) {
      return t;
    }
    return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) + " " + t;
  }
  // An hourly chart's hours ("10:00 UTC" under it, "Nov 22, 10:00 UTC:
  // 3 events" over a bar) are the reader's; the hours of a zone whose
  // offset is not whole (India's) start at half past.
  function hour(d, withDate) {
    var o = { hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
    if (withDate) {
      o.month = "short";
      o.day = "numeric";
    }
    return d.toLocaleString(undefined, o);
  }
  document.querySelectorAll("svg g[data-hour]").forEach(function (g) {
    var d = new Date(g.getAttribute("data-hour"));
    var title = g.querySelector("title");
    var rest = title ? title.textContent.indexOf(" UTC: ") : -1;
    if (isNaN(d.getTime()) || rest < 0) {
      return;
    }
    title.textContent = hour(d, true) + title.textContent.slice(rest + 4);
  });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime())) {
      return;
    }
    if (el.hasAttribute("data-hour")) {
      el.title = el.textContent;
      el.textContent = hour(d, false);
      return;
    }
    if (el.hasAttribute("data-clock")) {
      var ev = new Date(el.getAttribute("data-event"));
      var otherDay = /^\d{4}-/.test(el.textContent) ||
        (!isNaN(ev.getTime()) && ev.toDateString() !== d.toDateString());
      el.title = el.textContent;
      el.textContent = clock(d, otherDay);
      return;
    }
    if (/ UTC$/.test(el.textContent)) {
      el.title = el.textContent;
      el.textContent = local(d);
    } else if (el.title) {
      el.title += " (" + local(d) + ")";
    }
  });

  // Filters apply as soon as a choice changes; the Apply button remains
  // for text fields and for browsers without this script.
  document.querySelectorAll("form.filters select").forEach(function (sel) {
    sel.addEventListener("change", function () {
      sel.form.requestSubmit ? sel.form.requestSubmit() : sel.form.submit();
    });
  });
})();
