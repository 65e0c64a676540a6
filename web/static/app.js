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
  // Live total and pass/fail while scoring: see "ux: appraisal and scoring" below.
  // "Select all" checkboxes for batches.
  function selectAll(box) {
    box.addEventListener("change", function () {
      box.closest("form").querySelectorAll("input[name='" + box.dataset.selectAll + "']").forEach(function (c) {
        c.checked = box.checked;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-select-all]").forEach(selectAll);
  });
})();

// == ux: codes and wording ==
// == ux: widgets, evidence, accessibility ==
// The browser's own widgets in the page's language (issue 13): file choosers, validation bubbles, dd/mm/yyyy
// fields, and the evidence result brought into view. Without scripts the browser's own widgets show instead.
(function () {
  "use strict";
  document.documentElement.classList.add("js");  // app.css hides native file inputs only when this runs

  // File inputs (macro file_input): the chosen names, in Vietnamese, beside the "Chọn tệp" control.
  function showChosen(input) {
    var out = document.getElementById(input.id + "-chosen");
    if (!out) return;
    var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    out.textContent = names.length === 0 ? out.dataset.none :
      names.length === 1 ? names[0] : out.dataset.many.replace("{n}", names.length) + " " + names.join(", ");
  }
  // The evidence section: how many files wait in the rows; the upload bar then stays in view (app.css).
  function countUploads() {
    var bar = document.getElementById("upload-bar"), form = document.getElementById("several-form");
    if (!bar || !form) return;
    var n = 0;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "file" && el.files) n += el.files.length;
    });
    var out = document.getElementById("upload-count");
    out.textContent = n ? out.dataset.count.replace("{n}", n) : "";
    bar.classList.toggle("has-files", n > 0);
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("input[data-file-input]")) showChosen(e.target);
    if (e.target.type === "file") countUploads();
  });

  // Validation bubbles: the server's words (data-* of #validation-messages) instead of the browser's English.
  // A message another script set (the scoring sheet's range) is left alone; the server judges every field again.
  var ours = new WeakMap();
  function text(key, n) {
    var box = document.getElementById("validation-messages");
    var t = box ? box.getAttribute("data-" + key) : null;
    return t === null ? "" : t.replace("{n}", n === undefined ? "" : n);
  }
  function message(el) {
    var v = el.validity, type = (el.type || "").toLowerCase();
    if (v.valueMissing) {
      if (type === "checkbox") return text("required-checkbox");
      if (type === "radio") return text("required-radio");
      if (type === "file") return text("required-file");
      if (el.tagName === "SELECT") return text("required-select");
      return text("required");
    }
    if (v.typeMismatch) return text(type === "email" ? "type-email" : type === "url" ? "type-url" : "pattern");
    if (v.badInput) return text(type === "number" ? "type-number" : "pattern");
    if (v.patternMismatch) return el.hasAttribute("data-date") ? text("date") : text("pattern");
    if (v.tooLong) return text("too-long", el.maxLength);
    if (v.tooShort) return text("too-short", el.minLength);
    if (v.rangeUnderflow) return text("min", el.min);
    if (v.rangeOverflow) return text("max", el.max);
    if (v.stepMismatch) return text("step");
    return "";
  }
  document.addEventListener("invalid", function (e) {
    var el = e.target;
    if (!el.setCustomValidity) return;
    if (el.validity.customError && ours.get(el) !== el.validationMessage) return;  // another script's message
    el.setCustomValidity("");
    var m = message(el);
    if (m) { el.setCustomValidity(m); ours.set(el, m); }
  }, true);
  function clear(e) {
    var el = e.target;
    if (el.setCustomValidity && ours.has(el) && el.validationMessage === ours.get(el)) {
      el.setCustomValidity("");
      ours.delete(el);
    }
  }
  document.addEventListener("input", clear, true);
  document.addEventListener("change", clear, true);

  // dd/mm/yyyy fields: the slashes come by themselves while typing digits ("01122026" -> "01/12/2026").
  document.addEventListener("input", function (e) {
    var el = e.target;
    if (!el.hasAttribute || !el.hasAttribute("data-date") || e.inputType !== "insertText") return;
    if (e.data === "/" && /\/\/$/.test(el.value)) { el.value = el.value.slice(0, -1); return; }  // typed it too
    var digits = el.value.replace(/\D/g, "");
    if (/^\d+$/.test(el.value) && digits.length >= 3 && digits.length <= 8) {
      el.value = digits.slice(0, 2) + "/" + digits.slice(2, 4) + (digits.length > 4 ? "/" + digits.slice(4) : "");
    } else if (/^\d{2}$|^\d{1,2}\/\d{2}$/.test(el.value)) {
      el.value += "/";
    }
  });

  // The evidence section's result (after an upload, a removal or a replacement): in view and focused.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-file-input]").forEach(showChosen);  // names kept by a back button
    var result = document.getElementById("evidence-result");
    if (result && result.hasAttribute("data-focus")) {
      result.scrollIntoView({block: "start"});
      result.focus({preventScroll: true});
    }
  });
})();
// == ux: phones (layout at 390 px) ==
// Lists read as cards on a phone (app.css): each cell gets its column's heading as data-label, and the table the
// class "cards". Figure tables (.report, or inside a scrolling box) keep their grid. Without scripts a list
// scrolls inside itself instead. The menu <details> stays open on a wide screen whose browser cannot style
// ::details-content (app.css shows the nav there), and Escape closes it on a phone.
(function () {
  "use strict";
  function headings(table) {
    var rows = table.tHead ? table.tHead.rows : [];
    if (!rows.length) return null;
    var out = [];
    Array.prototype.forEach.call(rows[rows.length - 1].cells, function (th) {
      var box = th.querySelector("input[type=checkbox]");
      var text = th.textContent.replace(/\s+/g, " ").trim();
      if (!text && box && box.getAttribute("aria-label")) th.setAttribute("data-label", box.getAttribute("aria-label"));
      for (var i = 0; i < (th.colSpan || 1); i += 1) out.push(text);
    });
    return out;
  }
  function labelRow(tr, names) {
    var col = 0;
    Array.prototype.forEach.call(tr.cells, function (cell) {
      var span = cell.colSpan || 1;
      if (span < names.length && !cell.hasAttribute("data-label")) {
        var name = names.slice(col, col + span).filter(Boolean).join(" · ");
        cell.setAttribute("data-label", name);
      }
      if (!cell.textContent.trim() && cell.querySelector("input[type=checkbox], input[type=radio]")) {
        cell.classList.add("pick");
      }
      col += span;
    });
  }
  function cards(table) {
    if (table.classList.contains("report") || table.hasAttribute("data-no-cards") ||
        table.closest(".table-wrap, .scroll, [style*='overflow']")) return;
    var names = headings(table);
    if (!names || names.length < 2) return;
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (tr) { labelRow(tr, names); });
      if (window.MutationObserver) {
        new MutationObserver(function () {
          Array.prototype.forEach.call(body.rows, function (tr) { labelRow(tr, names); });
        }).observe(body, {childList: true});
      }
    });
    table.classList.add("cards");
  }
  function menu() {
    var details = document.getElementById("menu");
    if (!details) return;
    var wide = window.matchMedia("(min-width: 1024px)");
    var styled = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");
    function sync() { if (wide.matches && !styled) details.open = true; }
    sync();
    if (wide.addEventListener) wide.addEventListener("change", sync);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && details.open && !wide.matches) {
        details.open = false;
        details.querySelector("summary").focus();
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("main table.list").forEach(cards);
    menu();
  });
})();
// == ux: safe actions and batch ==
// Issue 13. (1) A post form with data-confirm (an irreversible step: approve, reject, withdraw, revoke) or the
// queue's batch form (data-confirm-one / -many, counted from the ticked rows) asks first in the page's
// <dialog id="confirm-dialog">; confirming adds confirm=yes and sends the form. Without scripts (or <dialog>) the
// server asks on a page of its own: it takes such a step only on confirm=yes. (2) While a post runs, the form's
// submit buttons are disabled and read "Đang xử lý…", so a double click sends one request; coming back to the page
// (pageshow, the back button) gives them back.
(function () {
  "use strict";
  function busyLabel() {
    var meta = document.querySelector("meta[name='busy-label']");
    return meta ? meta.content : "…";
  }
  function submitButtons(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.type === "submit" && (el.tagName === "BUTTON" || el.tagName === "INPUT");
    });
  }
  function keep(form, name, value) {
    var input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value; input.setAttribute("data-busy-keep", "");
    form.appendChild(input);
  }
  function restore() {
    document.querySelectorAll("[data-busy-keep]").forEach(function (el) { el.remove(); });
    document.querySelectorAll("[data-busy-original]").forEach(function (b) {
      if (b.tagName === "INPUT") { b.value = b.getAttribute("data-busy-original"); }
      else { b.innerHTML = b.getAttribute("data-busy-original"); }
      b.removeAttribute("data-busy-original"); b.disabled = false; b.removeAttribute("aria-busy");
    });
  }
  function busy(form, submitter) {
    if (submitter && submitter.name) { keep(form, submitter.name, submitter.value); }  // a disabled button is not sent
    var label = busyLabel();
    submitButtons(form).forEach(function (b) {
      if (b.hasAttribute("data-busy-original")) return;
      if (b.tagName === "INPUT") { b.setAttribute("data-busy-original", b.value); }
      else { b.setAttribute("data-busy-original", b.innerHTML); }
      if (b === submitter || submitButtons(form).length === 1) {
        if (b.tagName === "INPUT") { b.value = label; } else { b.textContent = label; }
      }
      b.disabled = true; b.setAttribute("aria-busy", "true");
    });
    // A post answered by a download leaves the page in place: give the buttons back after a while.
    window.setTimeout(restore, 20000);
  }
  function confirmText(form) {
    if (form.hasAttribute("data-confirm")) return form.getAttribute("data-confirm");
    if (!form.hasAttribute("data-confirm-many")) return null;
    var n = form.querySelectorAll("input[name='ids']:checked").length;
    var select = form.querySelector("select[name='action']");
    if (!n || !select || !select.value) return null;  // the server answers: nothing ticked, or no action chosen
    var action = select.options[select.selectedIndex].text;
    var text = form.getAttribute(n === 1 ? "data-confirm-one" : "data-confirm-many");
    return text.split("{action}").join(action).split("{n}").join(String(n));
  }
  function ask(dialog, text, then) {
    document.getElementById("confirm-dialog-text").textContent = text;
    dialog.returnValue = "";
    dialog.addEventListener("close", function once() {
      dialog.removeEventListener("close", once);
      if (dialog.returnValue === "yes") then();
    });
    dialog.showModal();
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") return;
    var submitter = event.submitter || null;
    var text = confirmText(form);
    var dialog = document.getElementById("confirm-dialog");
    if (text !== null && !form.querySelector("input[name='confirm']") && dialog &&
        typeof dialog.showModal === "function") {
      event.preventDefault();
      ask(dialog, text, function () {
        keep(form, "confirm", "yes");
        if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { busy(form, submitter); form.submit(); }
      });
      return;
    }
    busy(form, submitter);
  });
  window.addEventListener("pageshow", restore);
})();
// == ux: appraisal and scoring ==
(function () {
  "use strict";
  // The scoring sheet: each value judged by the rubric's max and step as printed on its input (data-max,
  // data-step: the same Criterion the server's check_value uses), marked invalid beside the field with the
  // page's own wording, and the live total, pass/fail and differences from the branch's scores; the server
  // judges again on save.
  function lang() { return document.documentElement.lang || "vi"; }
  function fmt(n, signed) {
    try {
      return new Intl.NumberFormat(lang(), {maximumFractionDigits: 2, signDisplay: signed ? "exceptZero" : "auto"})
        .format(n);
    } catch (e) { return (signed && n > 0 ? "+" : "") + String(n); }
  }
  function decimals(step) { var s = String(step), i = s.indexOf("."); return i < 0 ? 0 : s.length - i - 1; }
  function say(form, key, params) {
    return (form.dataset[key] || "").replace(/\{(\w+)\}/g, function (m, k) { return params[k]; });
  }
  // {empty}, {value} or {error} for one input.
  function read(form, input) {
    var text = input.value.trim();
    if (text === "") return {empty: true};
    var max = Number(input.dataset.max), step = Number(input.dataset.step || 1);
    var plain = text.replace(",", ".");
    if (!/^[0-9]+(\.[0-9]+)?$/.test(plain)) return {error: say(form, "msgNumber", {max: fmt(max)})};
    var v = Number(plain);
    if (v > max) return {error: say(form, "msgMax", {max: fmt(max)})};
    var scale = Math.pow(10, decimals(step)), scaled = v * scale;
    if (Math.abs(scaled - Math.round(scaled)) > 1e-9 || Math.round(scaled) % Math.round(step * scale) !== 0) {
      return {error: step === 1 ? say(form, "msgWhole", {}) : say(form, "msgStep", {step: fmt(step)})};
    }
    return {value: v};
  }
  function scoring(form) {
    var inputs = form.querySelectorAll("input.score");
    var total = document.getElementById("live-total");
    var verdict = document.getElementById("live-verdict");
    var skipped = document.getElementById("live-skipped");
    var originalTotal = document.getElementById("original-total");
    var diffTotal = document.getElementById("diff-total");
    function update(initial) {
      var sum = 0, lowest = null, count = 0, bad = 0;
      inputs.forEach(function (input) {
        var r = read(form, input);
        var note = document.getElementById(input.id + "-error");
        var diff = document.getElementById(input.id.replace(/^score-/, "diff-"));
        if (r.error) {
          bad += 1;
          input.setAttribute("aria-invalid", "true");
          input.setCustomValidity(r.error);
          if (note && !(initial && note.textContent.trim())) note.textContent = r.error;  // the server's stays
        } else {
          input.removeAttribute("aria-invalid");
          input.setCustomValidity("");
          if (note && !initial) note.textContent = "";
        }
        if (diff && input.dataset.original !== undefined) {
          diff.textContent = r.value === undefined ? "—" : fmt(r.value - Number(input.dataset.original), true);
        }
        if (r.value === undefined) return;
        sum += r.value; count += 1; lowest = lowest === null ? r.value : Math.min(lowest, r.value);
      });
      total.textContent = fmt(sum);
      if (skipped) skipped.textContent = bad ? "(" + say(form, "msgSkipped", {n: bad}) + ")" : "";
      if (diffTotal && originalTotal && /^[0-9]+$/.test(originalTotal.textContent.trim())) {
        diffTotal.textContent = fmt(sum - Number(originalTotal.textContent.trim()), true);
      }
      var ok;
      if (form.dataset.kind === "met") {
        ok = !bad && count === inputs.length && lowest !== null && lowest >= 1;
      } else {
        ok = !bad && count === inputs.length && sum >= Number(form.dataset.minTotal) &&
          lowest !== null && lowest >= Number(form.dataset.minEach);
      }
      verdict.textContent = ok ? verdict.dataset.met : verdict.dataset.notMet;
      verdict.className = ok ? "pass" : "fail";
    }
    inputs.forEach(function (input) { input.addEventListener("input", function () { update(false); }); });
    update(true);
  }
  // The decision form: "Issue the decision" stays disabled while no file is ticked and "every file matching the
  // filter" is not chosen (the server refuses such a request too, with the same advice).
  function decisionForm(form) {
    var button = document.getElementById("issue"), hint = document.getElementById("issue-hint");
    if (!button || button.disabled || !hint) return;  // nothing awaits a decision: the server disabled it
    function update() {
      var none = form.querySelector("input[name='ids']:checked, input[name='all']:checked") === null;
      button.disabled = none;
      hint.textContent = none ? hint.dataset.none : "";
    }
    form.addEventListener("change", update);
    update();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("scoring");
    if (form) scoring(form);
    var decision = document.getElementById("decision-form");
    if (decision) decisionForm(decision);
  });
})();
// == ux: home, inbox, auditors, help, diagrams ==
