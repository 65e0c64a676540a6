// Long work (an import, a mass action, a decision): the job page's live progress, polling the job's status every
// second, and a confirmation before an irreversible step. The live box is the element with data-job-live; its
// data-prefix names the page's elements (<prefix>-progress, -percent, -done, -total, -rate, -status) and its
// data-fields adds "element suffix=status key" pairs (for example "errors=error_count;ok=ok"). Without JavaScript
// the page refreshes itself while the job runs.
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
    var prefix = box.dataset.prefix;
    var bar = document.getElementById(prefix + "-progress");
    var finished = box.dataset.finished || "";
    var fields = {done: "done", total: "total", rate: "rows_per_second"};
    (box.dataset.fields || "").split(";").forEach(function (pair) {
      var kv = pair.split("=");
      if (kv.length === 2) fields[kv[0]] = kv[1];
    });
    function schedule() { window.setTimeout(tick, 1000); }
    function tick() {
      fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { schedule(); return; }
          bar.max = Math.max(s.total, 1);
          bar.value = s.done;
          bar.textContent = s.percent + "%";
          set(prefix + "-percent", s.percent);
          Object.keys(fields).forEach(function (id) { set(prefix + "-" + id, format(s[fields[id]])); });
          set(prefix + "-status", box.dataset["label" + s.status.charAt(0).toUpperCase() + s.status.slice(1)] || s.status);
          box.dataset.status = s.status;
          var over = (s.status === "done" || s.status === "failed") && (s.finished_at || "") !== finished;
          if (over || s.stalled) { window.location.replace(box.dataset.pageUrl); return; }
          schedule();
        })
        .catch(schedule);
    }
    schedule();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-job-live]");
    if (box && box.dataset.watch === "yes") watch(box);
    var form = document.getElementById("confirm-form");
    if (form) form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
