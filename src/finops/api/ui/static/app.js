// FinOps console: charts from the data-chart attributes the server renders, copy buttons, confirmations.
// No inline script anywhere: the pages' Content-Security-Policy allows only files like this one.
(function () {
  "use strict";

  var PALETTE = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#4b5563", "#9ca3af"];
  var SAVING = { "batch discount": "#86efac", "cache savings": "#a5b4fc" };

  function tooltipLabel(context) {
    var dataset = context.dataset;
    var text = dataset.formatted ? dataset.formatted[context.dataIndex] : String(context.parsed.y);
    return dataset.label + ": " + text;
  }

  function usdTick(value) {
    return "$" + (value >= 1 ? value.toFixed(0) : value.toPrecision(2));
  }

  function config(spec) {
    var colour = 0;
    var datasets = spec.datasets.map(function (item) {
      var fill = item.saving ? SAVING[item.label] || "#d1d5db" : PALETTE[colour++ % PALETTE.length];
      return {
        label: item.label,
        data: item.data,
        formatted: item.formatted,
        stack: item.stack,
        yAxisID: item.axis === "tokens" ? "tokens" : "y",
        backgroundColor: fill,
        borderColor: fill,
        tension: 0.2,
      };
    });
    var scales = {
      x: { stacked: spec.type === "bar" },
      y: { stacked: spec.type === "bar", beginAtZero: true, ticks: spec.axis === "usd" ? { callback: usdTick } : {} },
    };
    if (datasets.some(function (d) { return d.yAxisID === "tokens"; })) {
      scales.tokens = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } };
    }
    return {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { tooltip: { callbacks: { label: tooltipLabel } }, legend: { position: "bottom" } },
        scales: scales,
      },
    };
  }

  function drawCharts(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (window.Chart.getChart(canvas)) {
        return;
      }
      var chart = new window.Chart(canvas, config(JSON.parse(canvas.dataset.chart)));
      canvas.dataset.drawn = String(chart.data.labels.length);
    });
  }

  function wireCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        var done = function () {
          var note = document.getElementById("copied");
          if (note) { note.hidden = false; }
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
        } else {
          source.select();
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  function wireConfirmations(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) {
          event.preventDefault();
        }
      });
    });
  }

  function enhance(root) {
    drawCharts(root);
    wireCopyButtons(root);
    wireConfirmations(root);
  }

  if (window.htmx) {
    window.htmx.onLoad(enhance); // the whole page once, then every fragment htmx swaps in
  } else {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  }
})();
