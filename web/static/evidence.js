// Evidence in bulk: choose or drop several files, pick a criterion per file, send them all in one request.
// Progressive enhancement only: without it the criteria's rows take a file each, a multiple input is read by
// file names, and a zip (web/templates/evidence_bulk_form.html, detail.html).
(function () {
  "use strict";
  var form = document.getElementById("several-form");
  if (!form || typeof DataTransfer === "undefined") return;
  var picker = document.getElementById("evidence-files");
  var drop = document.getElementById("evidence-drop");
  var body = form.querySelector("#several-rows tbody");
  var options = document.getElementById("criterion-options");
  var codes = Array.prototype.map.call(options.content.querySelectorAll("option"), function (o) { return o.value; })
    .sort(function (a, b) { return b.length - a.length; });
  var next = parseInt(form.dataset.next, 10), max = parseInt(form.dataset.max, 10);
  var SEPARATORS = " ._-()";

  // The same rule as the server (workflow.evidence.criterion_of): the longest code that ends at a separator.
  function guess(name) {
    for (var i = 0; i < codes.length; i++) {
      var code = codes[i];
      if (name === code) return code;
      if (name.indexOf(code) !== 0) continue;
      var rest = name.slice(code.length);
      if (SEPARATORS.indexOf(rest[0]) >= 0 && !(rest[0] === "." && /\d/.test(rest[1] || ""))) return code;
    }
    return "";
  }

  function count() { return body.querySelectorAll("tr.js-row").length; }

  function addFile(file) {
    if (count() >= max) return;
    var index = next++;
    var row = document.createElement("tr");
    row.className = "js-row";
    var cellFile = document.createElement("td");
    var input = document.createElement("input");
    input.type = "file"; input.name = "file-" + index; input.hidden = true;
    var dt = new DataTransfer(); dt.items.add(file); input.files = dt.files;
    var label = document.createElement("span");
    label.className = "chosen-name"; label.textContent = file.name;
    var removeButton = document.createElement("button");
    removeButton.type = "button"; removeButton.textContent = "×"; removeButton.className = "remove-row";
    removeButton.setAttribute("aria-label", (form.dataset.removeLabel || "{name}").replace("{name}", file.name));
    removeButton.addEventListener("click", function () { row.remove(); });
    cellFile.appendChild(input); cellFile.appendChild(label); cellFile.appendChild(document.createTextNode(" "));
    cellFile.appendChild(removeButton);
    var cellCode = document.createElement("td");
    var select = document.createElement("select");
    select.name = "criterion-" + index; select.required = true;
    select.setAttribute("aria-label", (form.dataset.criterionLabel || "{name}").replace("{name}", file.name));
    var empty = document.createElement("option"); empty.value = ""; empty.textContent = "—";
    select.appendChild(empty);
    select.appendChild(options.content.cloneNode(true));
    select.value = guess(file.name);
    cellCode.appendChild(select);
    row.appendChild(cellFile); row.appendChild(cellCode);
    body.appendChild(row);
  }

  function addAll(files) {
    Array.prototype.forEach.call(files, addFile);
    picker.value = "";  // the chosen files now travel in their own rows, each with its criterion
    var more = document.getElementById("bulk-evidence");
    if (more) more.open = true;  // the rows to choose a criterion in are inside it
  }

  picker.addEventListener("change", function () { addAll(picker.files); });
  form.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) addAll(e.dataTransfer.files);
  });
}());
