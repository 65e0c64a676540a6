// Spreadsheet import: the job page's live progress (polls the job's status every second) and the confirmation
// before the irreversible import. Without JavaScript the page refreshes itself while the job runs.
(function () {
  "use strict";
  function format(n) {
    var lang = document.documentElement.lang || "vi";
    return Number(n || 0).toLocaleString(lang === "en" ? "en-GB" : "vi-VN");
  }
  function set(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent = text;
  }
  function watch(box) {
    var bar = document.getElementById("import-progress");
    var finished = box.dataset.finished || "";
    function schedule() { window.setTimeout(tick, 1000); }
    function tick() {
      fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { schedule(); return; }
          bar.max = Math.max(s.total, 1);
          bar.value = s.done;
          bar.textContent = s.percent + "%";
          set("import-percent", s.percent);
          set("import-done", format(s.done));
          set("import-total", format(s.total));
          set("import-rate", format(s.rows_per_second));
          set("import-errors", format(s.error_count));
          set("import-status", box.dataset["label" + s.status.charAt(0).toUpperCase() + s.status.slice(1)] || s.status);
          box.dataset.status = s.status;
          var over = (s.status === "done" || s.status === "failed") && (s.finished_at || "") !== finished;
          if (over || s.stalled) { window.location.replace(box.dataset.pageUrl); return; }
          schedule();
        })
        .catch(schedule);
    }
    schedule();
  }
  function confirmFirst(form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("import-live");
    if (box && box.dataset.watch === "yes") watch(box);
    var form = document.getElementById("confirm-form");
    if (form) confirmFirst(form);
  });
})();
