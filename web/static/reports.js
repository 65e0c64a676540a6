/* The dashboards' charts (issue 11): each <figure class="chart" data-chart="ID"> names a
   <script type="application/json" id="ID"> holding {type, labels, series: [{label, kind, data}], percent,
   horizontal}; Chart.js (vendored, web/static/vendor/chartjs) draws it. The tables beside the charts carry the
   same figures, so without JavaScript (or for a screen reader) nothing is lost. */
(function () {
  "use strict";
  var COLOURS = ["#0b5c8a", "#c2410c", "#15803d", "#7c3aed", "#a16207"];

  function dataset(s, i, opts) {
    var colour = COLOURS[i % COLOURS.length];
    var d = {label: s.label, data: s.data, borderColor: colour, backgroundColor: colour, spanGaps: true,
             pointStyle: s.kind === "bar" ? "rect" : (s.kind === "horizon" ? "line" : "circle")};
    if (s.kind === "line") {
      d.type = "line"; d.fill = false; d.borderWidth = 2; d.pointRadius = 3; d.tension = 0;
      d.backgroundColor = colour;
    } else if (s.kind === "horizon") {
      d.type = "line"; d.borderDash = [6, 4]; d.borderWidth = 2; d.pointRadius = 0; d.fill = false;
      d.borderColor = "#a40000"; d.backgroundColor = "#a40000";
    } else {
      d.type = "bar"; d.maxBarThickness = opts.horizontal ? 26 : 48;
      if (opts.type === "coverage") { d.minBarLength = 3; }  // a coverage of 1 % against a 60 % target stays visible
      d.backgroundColor = colour + "cc";
    }
    return d;
  }

  function draw(figure) {
    var source = document.getElementById(figure.getAttribute("data-chart"));
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var canvas = figure.querySelector("canvas");
    figure.hidden = false;
    var lang = document.documentElement.lang || "vi";
    var valueAxis = {beginAtZero: true, ticks: {precision: 0}};
    if (spec.percent) {
      if (!spec.horizontal) { valueAxis.suggestedMax = 100; }  // a ranking compares units: its axis fits them
      valueAxis.ticks = {callback: function (v) { return Number(v).toLocaleString(lang) + " %"; }};
    }
    var scales = spec.horizontal ? {x: valueAxis, y: {ticks: {autoSkip: false}}} : {y: valueAxis, x: {}};
    var chart = new Chart(canvas, {
      type: "bar",
      data: {labels: spec.labels, datasets: spec.series.map(function (s, i) { return dataset(s, i, spec); })},
      options: {
        indexAxis: spec.horizontal ? "y" : "x", responsive: true, maintainAspectRatio: false, animation: false,
        locale: lang,  // 1.234,5 in Vietnamese
        plugins: {legend: {display: spec.series.length > 1, position: "bottom",
                           labels: {usePointStyle: true, boxHeight: 8}},
                  tooltip: {callbacks: {label: function (ctx) {
                    var v = spec.horizontal ? ctx.parsed.x : ctx.parsed.y;
                    return ctx.dataset.label + ": " + (v === null ? "–" : v.toLocaleString(lang)) + (spec.percent ? " %" : "");
                  }}}},
        scales: scales
      }
    });
    canvas.setAttribute("data-drawn", "1");
    return chart;
  }

  function start() {
    var charts = [];
    document.querySelectorAll("figure.chart[data-chart]").forEach(function (f) {
      var c = draw(f);
      if (c) { charts.push(c); }
    });
    // Printing: redraw at the paper's width, then back.
    window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
    window.addEventListener("afterprint", function () { charts.forEach(function (c) { c.resize(); }); });
    var print = document.getElementById("report-print");
    if (print) { print.hidden = false; print.addEventListener("click", function () { window.print(); }); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
