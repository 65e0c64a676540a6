// Small progressive enhancement only: every page works without it.
(function () {
  "use strict";
  // A section whose content the server sends apart (data-fragment: the home page's headline figures), so the
  // page itself does not wait for it; without scripts the section's own link leads there.
  function fragment(section) {
    fetch(section.dataset.fragment, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { section.innerHTML = html; } })
      .catch(function () { /* the link stays */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-fragment]").forEach(fragment);
  });
  // Live total and pass/fail while scoring (the server judges again on save).
  function scoring(form) {
    var inputs = form.querySelectorAll("input.score");
    var total = document.getElementById("live-total");
    var verdict = document.getElementById("live-verdict");
    function update() {
      var sum = 0, lowest = null, count = 0;
      inputs.forEach(function (input) {
        if (input.value === "") return;
        var v = parseInt(input.value, 10), max = parseInt(input.max, 10);
        var bad = isNaN(v) || v < 0 || v > max;
        input.setCustomValidity(bad ? "0 – " + max : "");
        if (bad) return;
        sum += v; count += 1; lowest = lowest === null ? v : Math.min(lowest, v);
      });
      total.textContent = sum;
      var ok;
      if (form.dataset.kind === "met") {
        ok = count === inputs.length && lowest !== null && lowest >= 1;
      } else {
        ok = count === inputs.length && sum >= parseInt(form.dataset.minTotal, 10) &&
          lowest !== null && lowest >= parseInt(form.dataset.minEach, 10);
      }
      verdict.textContent = ok ? verdict.dataset.met : verdict.dataset.notMet;
      verdict.className = ok ? "pass" : "fail";
    }
    inputs.forEach(function (input) { input.addEventListener("input", update); });
    update();
  }
  // "Select all" checkboxes for batches.
  function selectAll(box) {
    box.addEventListener("change", function () {
      box.closest("form").querySelectorAll("input[name='" + box.dataset.selectAll + "']").forEach(function (c) {
        c.checked = box.checked;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("scoring");
    if (form) scoring(form);
    document.querySelectorAll("[data-select-all]").forEach(selectAll);
  });
})();
