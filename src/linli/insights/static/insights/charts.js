// ECharts for the rates pages. The data comes from a json_script element
// (#rates-data), never from an inline script (the CSP forbids them), and ECharts
// itself is served from our static files. Every chart has a data table beside it,
// so the page says the same without JavaScript.
(function () {
  "use strict";

  // linli.css colours: link blue, ok green, brand red, warn brown — each 4.5:1 on white.
  var COLORS = ["#0b4f9c", "#1d6b33", "#a3201a", "#8a4b00", "#6b7785"];
  var charts = [];

  function readData() {
    var el = document.getElementById("rates-data");
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function elder() { return document.documentElement.classList.contains("elder"); }

  function fontSize() { return elder() ? 20 : 13; }

  function percent(value) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(1) + "%";
  }

  function base() {
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return {
      color: COLORS,
      animation: !reduce,
      textStyle: { fontSize: fontSize(), fontFamily: window.getComputedStyle(document.body).fontFamily },
      tooltip: { trigger: "axis", valueFormatter: percent, textStyle: { fontSize: fontSize() } },
      legend: { top: 0, textStyle: { fontSize: fontSize() }, itemWidth: elder() ? 32 : 24, itemHeight: elder() ? 18 : 14 }
    };
  }

  function percentAxis() {
    return { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%", fontSize: fontSize() } };
  }

  function line(name, values, symbol) {
    return { name: name, type: "line", data: values, connectNulls: false, symbol: symbol, symbolSize: elder() ? 12 : 8,
             lineStyle: { width: elder() ? 4 : 2 } };
  }

  function trend(data) {
    var t = data.trend;
    var option = base();
    option.grid = { left: 8, right: 16, top: elder() ? 80 : 48, bottom: 8, containLabel: true };
    option.xAxis = { type: "category", data: t.months, axisLabel: { fontSize: fontSize(), hideOverlap: true } };
    option.yAxis = percentAxis();
    // Different symbols as well as colours: colour is never the only signal.
    option.series = [
      line(data.names.response, t.response, "circle"),
      line(data.names.resolution, t.resolution, "rect"),
      line(data.names.satisfaction, t.satisfaction, "triangle")
    ];
    return option;
  }

  function bars(name, values, pattern) {
    return { name: name, type: "bar", data: values, barMaxWidth: elder() ? 28 : 18,
             label: { show: true, position: "right", formatter: function (p) { return percent(p.value); },
                      fontSize: fontSize() - 2 },
             itemStyle: pattern ? { decal: pattern } : undefined };
  }

  function categories(data, el) {
    var c = data.categories;
    var option = base();
    option.aria = { enabled: false, decal: { show: true } };
    option.grid = { left: 8, right: 56, top: elder() ? 80 : 48, bottom: 8, containLabel: true };
    option.xAxis = percentAxis();
    option.yAxis = { type: "category", data: c.names, inverse: true, axisLabel: { fontSize: fontSize() } };
    option.series = [
      bars(data.names.response, c.response),
      bars(data.names.resolution, c.resolution, { symbol: "rect", dashArrayX: [1, 0], dashArrayY: [2, 4], rotation: -Math.PI / 4 }),
      bars(data.names.satisfaction, c.satisfaction, { symbol: "circle", symbolSize: 0.6, dashArrayX: [[4, 4]], dashArrayY: [4, 2] })
    ];
    sizeByRows(el, c.names.length, 3);
    return option;
  }

  function ranking(data, el) {
    var r = data.ranking;
    var option = base();
    option.grid = { left: 8, right: 56, top: elder() ? 80 : 48, bottom: 8, containLabel: true };
    option.xAxis = { type: "value", min: 0, max: 100, axisLabel: { fontSize: fontSize() } };
    option.yAxis = { type: "category", data: r.places, inverse: true, axisLabel: { fontSize: fontSize() } };
    option.tooltip.valueFormatter = function (v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1); };
    var label = { show: true, position: "right", fontSize: fontSize() - 2,
                  formatter: function (p) { return p.value === null || p.value === undefined ? "—" : Number(p.value).toFixed(1); } };
    option.series = [
      { name: data.names.composite, type: "bar", data: r.composite, label: label, barMaxWidth: elder() ? 28 : 18 },
      { name: data.names.previous, type: "bar", data: r.previous, label: label, barMaxWidth: elder() ? 28 : 18,
        itemStyle: { color: COLORS[4] } }
    ];
    sizeByRows(el, r.places.length, 2);
    return option;
  }

  // Horizontal bars: give each row room, so labels never overlap on a phone.
  function sizeByRows(el, rows, barsPerRow) {
    var perBar = elder() ? 30 : 20;
    var height = Math.max(elder() ? 300 : 220, rows * (barsPerRow * perBar + 16) + (elder() ? 100 : 70));
    el.style.height = height + "px";
  }

  var BUILDERS = { trend: trend, categories: categories, ranking: ranking };

  function render() {
    if (!window.echarts) return;
    var data = readData();
    if (!data) return;
    charts.forEach(function (chart) { chart.dispose(); });
    charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var build = BUILDERS[el.dataset.chart];
      if (!build) return;
      var option = build(data, el);
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      el.dataset.rendered = "true";
      charts.push(chart);
    });
  }

  var pending = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () { charts.forEach(function (chart) { chart.resize(); }); }, 150);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
  else render();
  document.addEventListener("htmx:afterSwap", render);
})();
