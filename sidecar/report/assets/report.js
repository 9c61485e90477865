// Draws one uPlot bar chart per column of the HTML validation report (sidecar.reporting.html): reference
// and current bin/category shares side by side. Data come from the JSON block #report-charts; labels are
// drawn on the canvas, never inserted as HTML, so a hostile column or category name stays text.
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("report-charts").textContent);
  var bars = uPlot.paths.bars;
  var drawn = 0;
  function pct(v) { return v == null ? "-" : (v * 100).toFixed(1) + "%"; }
  function clip(s) { return s.length > 18 ? s.slice(0, 17) + "\u2026" : s; }
  specs.forEach(function (spec) {
    var el = document.getElementById(spec.id);
    var labels = spec.bins;
    var xs = labels.map(function (_, i) { return i; });
    var longest = labels.reduce(function (m, s) { return Math.max(m, clip(s).length); }, 1);
    var opts = {
      width: Math.max(320, el.clientWidth || 460),
      height: 230 + Math.min(90, longest * 5),
      legend: { show: true },
      cursor: { points: { show: false } },
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: [0, null] } },
      axes: [
        { splits: function () { return xs; }, values: function (u, splits) {
            return splits.map(function (i) { return clip(labels[i] || ""); }); },
          rotate: labels.length > 6 ? -45 : 0, size: 30 + Math.min(90, longest * 5), gap: 4 },
        { values: function (u, splits) { return splits.map(pct); }, size: 56 }
      ],
      series: [
        { label: "bin", value: function (u, v) { return v == null ? "-" : labels[v]; } },
        { label: "reference", fill: "rgba(90,110,140,0.55)", stroke: "#5a6e8c", width: 1,
          paths: bars({ size: [0.42, 80], align: -1 }), points: { show: false }, value: function (u, v) { return pct(v); } },
        { label: "current", fill: "rgba(230,120,20,0.65)", stroke: "#e67814", width: 1,
          paths: bars({ size: [0.42, 80], align: 1 }), points: { show: false }, value: function (u, v) { return pct(v); } }
      ],
      hooks: { draw: [function (u) {
        if (!u.root.dataset.drawn) {
          u.root.dataset.drawn = "1";
          drawn += 1;
          document.body.dataset.chartsDrawn = String(drawn);
        }
      }] }
    };
    new uPlot(opts, [xs, spec.reference, spec.current], el);
  });
  document.body.dataset.chartsExpected = String(specs.length);
})();
