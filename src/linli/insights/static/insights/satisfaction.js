// ECharts for the satisfaction pages (满意度分析). The data comes from a json_script
// element (#satisfaction-data), never from an inline script (the CSP forbids them);
// ECharts is served from our own static files. Every chart has a data table beside it,
// so the page says the same without JavaScript. Each chart can be saved as a PNG
// (ECharts getDataURL, drawn in the browser: nothing leaves the machine).
(function () {
  "use strict";

  // linli.css colours: link blue, ok green, brand red, warn brown, muted grey — each 4.5:1 on white.
  var BLUE = "#0b4f9c", GREEN = "#1d6b33", RED = "#a3201a", BROWN = "#8a4b00", GREY = "#6b7785", INK = "#1b1f24";
  var COLORS = [BLUE, GREEN, RED, BROWN, GREY];
  var charts = {};

  function readData() {
    var el = document.getElementById("satisfaction-data");
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function elder() { return document.documentElement.classList.contains("elder"); }
  function fontSize() { return elder() ? 20 : 13; }
  function num(v, digits) { return v === null || v === undefined ? "—" : Number(v).toFixed(digits === undefined ? 1 : digits); }
  function has(values) { return values && values.some(function (v) { return v !== null && v !== undefined; }); }

  function base() {
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return {
      color: COLORS,
      animation: !reduce,
      textStyle: { fontSize: fontSize(), fontFamily: window.getComputedStyle(document.body).fontFamily },
      tooltip: { trigger: "axis", textStyle: { fontSize: fontSize() } },
      legend: { top: 0, textStyle: { fontSize: fontSize() }, itemWidth: elder() ? 32 : 24, itemHeight: elder() ? 18 : 14 }
    };
  }

  function narrow(el) { return el.clientWidth < 560; }

  // Horizontal bars: give each row room, so labels never overlap on a phone.
  function sizeByRows(el, rows, barsPerRow) {
    var perBar = elder() ? 30 : 22;
    var height = Math.max(elder() ? 300 : 220, rows * (barsPerRow * perBar + 18) + (elder() ? 110 : 80));
    el.style.height = height + "px";
  }

  // Whiskers of a 95 % interval, drawn over bars or points (custom series).
  function whiskers(name, lower, upper, horizontal) {
    var data = lower.map(function (low, i) { return [i, low, upper[i]]; });
    return {
      name: name, type: "custom", z: 10, silent: true, data: data,
      encode: horizontal ? { x: [1, 2], y: 0 } : { x: 0, y: [1, 2] },
      renderItem: function (params, api) {
        var low = api.value(1), high = api.value(2);
        if (low === null || high === null || isNaN(low) || isNaN(high) || low === "-" || high === "-") return null;
        var category = api.value(0);
        var a = api.coord(horizontal ? [low, category] : [category, low]);
        var b = api.coord(horizontal ? [high, category] : [category, high]);
        var cap = (horizontal ? api.size([0, 1])[1] : api.size([1, 0])[0]) * 0.18;
        var style = { stroke: INK, lineWidth: elder() ? 3 : 2 };
        var lines = horizontal
          ? [[a[0], a[1], b[0], b[1]], [a[0], a[1] - cap, a[0], a[1] + cap], [b[0], b[1] - cap, b[0], b[1] + cap]]
          : [[a[0], a[1], b[0], b[1]], [a[0] - cap, a[1], a[0] + cap, a[1]], [b[0] - cap, b[1], b[0] + cap, b[1]]];
        return { type: "group", children: lines.map(function (l) {
          return { type: "line", shape: { x1: l[0], y1: l[1], x2: l[2], y2: l[3] }, style: style };
        }) };
      }
    };
  }

  // Where each gauge goes: side by side on a wide screen; on a phone the first (the
  // overall index) on top at full width, the others two to a row below it.
  function gaugeCells(el, count) {
    var w = el.clientWidth || 320, cells = [], height;
    var tall = elder() ? 300 : 240, small = elder() ? 250 : 190;
    if (elder() && w < 560) {
      // 长辈版 on a phone: one large gauge to a row.
      for (var k = 0; k < count; k++) cells.push({ x: w / 2, y: k * tall + tall * 0.52, r: Math.min(w * 0.4, tall * 0.4) });
      height = count * tall;
    } else if (w >= 560 || count === 1) {
      var cw = w / count;
      for (var i = 0; i < count; i++) cells.push({ x: (i + 0.5) * cw, y: tall * 0.52, r: Math.min(cw * 0.42, tall * 0.4) });
      height = tall;
    } else {
      cells.push({ x: w / 2, y: tall * 0.52, r: Math.min(w * 0.4, tall * 0.4) });
      height = tall;
      for (var j = 1; j < count; j++) {
        var row = Math.floor((j - 1) / 2), col = (j - 1) % 2, left = count - 1 - row * 2;
        var width = left >= 2 ? w / 2 : w;
        cells.push({ x: left >= 2 ? (col + 0.5) * width : w / 2, y: tall + row * small + small * 0.52,
                     r: Math.min(width * 0.42, small * 0.4) });
        height = tall + (row + 1) * small;
      }
    }
    el.style.height = Math.round(height) + "px";
    return cells;
  }

  function gauges(data, el) {
    var items = data.gauges || [];
    if (!items.length) return null;
    var cells = gaugeCells(el, items.length);
    var option = base();
    option.tooltip = { show: false };
    option.legend = { show: false };
    option.series = items.map(function (g, i) {
      var cell = cells[i], r = cell.r;
      // The 95 % interval is the brown band on the arc.
      var stops = g.lower !== null && g.upper !== null
        ? [[g.lower / 100, "#d8dee5"], [g.upper / 100, BROWN], [1, "#d8dee5"]]
        : [[1, "#d8dee5"]];
      var width = Math.max(8, r * 0.14);
      return {
        type: "gauge", min: 0, max: 100, startAngle: 210, endAngle: -30, splitNumber: 4,
        center: [cell.x, cell.y], radius: r,
        progress: { show: true, width: width * 0.55, itemStyle: { color: BLUE } },
        axisLine: { lineStyle: { width: width, color: stops } },
        axisTick: { show: false }, splitLine: { show: false }, axisLabel: { show: false },
        pointer: { show: false }, anchor: { show: false },
        title: { offsetCenter: [0, "78%"], fontSize: Math.max(fontSize(), r * 0.16), color: INK, fontWeight: 600 },
        detail: {
          valueAnimation: false, offsetCenter: [0, "5%"], fontSize: Math.max(22, r * 0.42), fontWeight: 700, color: INK,
          formatter: function (v) {
            // A small gauge has room for the two ends of the interval only.
            var prefix = r >= 90 ? data.names.interval + " " : "";
            var ci = g.lower !== null && g.upper !== null
              ? "\n{ci|" + prefix + num(g.lower) + "–" + num(g.upper) + "}" : "";
            return num(v) + ci;
          },
          rich: { ci: { fontSize: Math.max(11, Math.min(fontSize() - 1, r * 0.15)), color: INK, fontWeight: 400,
                        padding: [4, 0, 0, 0] } }
        },
        data: [{ value: g.value, name: g.name }]
      };
    });
    return option;
  }

  function scores(data, el) {
    var s = data.scores;
    if (!s || !s.names.length) return null;
    var name = s.title || data.names.mean;
    var option = base();
    option.legend = { show: false };
    option.grid = { left: 8, right: 24, top: 16, bottom: 8, containLabel: true };
    option.xAxis = { type: "value", min: 0, max: 100, axisLabel: { fontSize: fontSize() } };
    option.yAxis = { type: "category", data: s.names, inverse: true, axisLabel: { fontSize: fontSize() } };
    option.tooltip = { trigger: "axis", axisPointer: { type: "shadow" }, textStyle: { fontSize: fontSize() },
      formatter: function (items) {
        var i = items[0].dataIndex;
        return s.names[i] + "<br>" + name + " " + num(s.values[i]) + "（" + data.names.interval + " " +
          num(s.lower[i]) + "–" + num(s.upper[i]) + "）";
      } };
    option.series = [
      { name: name, type: "bar", data: s.values, barMaxWidth: elder() ? 30 : 20, itemStyle: { color: BLUE },
        label: { show: true, position: "insideLeft", color: "#fff", fontSize: fontSize() - 2,
                 formatter: function (p) { return num(p.value); } } },
      whiskers(data.names.interval, s.lower, s.upper, true)
    ];
    sizeByRows(el, s.names.length, 1);
    return option;
  }

  function ipa(data, el) {
    var d = data.ipa;
    if (!d || !d.points.length) return null;
    var xs = d.points.map(function (p) { return p.x; }).filter(function (v) { return v !== null; });
    var ys = d.points.map(function (p) { return p.y; });
    var xMin = Math.max(0, Math.floor((Math.min.apply(null, xs.concat([d.xSplit])) - 5) / 5) * 5);
    var xMax = Math.min(100, Math.ceil((Math.max.apply(null, xs.concat([d.xSplit])) + 5) / 5) * 5);
    var yMax = Math.max.apply(null, ys.concat([d.ySplit])) * 1.15;
    var yMin = Math.min(0, Math.min.apply(null, ys) * 1.15);
    var option = base();
    option.legend = { show: false };
    // Room for the axis names and for the labels of the rightmost points.
    var small = narrow(el);
    option.grid = { left: elder() ? 70 : 52, right: small ? 20 : 96, top: small ? 30 : 24, bottom: elder() ? 64 : 52,
                    containLabel: false };
    option.tooltip = { trigger: "item", textStyle: { fontSize: fontSize() },
      formatter: function (p) {
        var point = d.points[p.dataIndex];
        if (!point) return "";
        return point.name + "<br>" + data.names.performance + " " + num(point.x) + "<br>" + data.names.importance + " " +
          num(point.y, 3) + "<br>" + (d.quadrants[point.quadrant] || "");
      } };
    option.xAxis = { type: "value", name: data.names.performance, nameLocation: "middle", nameGap: elder() ? 36 : 28,
                     min: xMin, max: xMax, splitNumber: small ? 3 : 5,
                     axisLabel: { fontSize: fontSize(), hideOverlap: true }, nameTextStyle: { fontSize: fontSize() } };
    option.yAxis = { type: "value", name: data.names.importance, nameLocation: "middle", nameGap: elder() ? 56 : 44,
                     min: Number(yMin.toFixed(2)), max: Number(yMax.toFixed(2)),
                     axisLabel: { fontSize: fontSize() }, nameTextStyle: { fontSize: fontSize() - 1 } };
    var shapes = { concentrate_here: "diamond", keep_up: "circle", low_priority: "triangle", possible_overkill: "rect" };
    var colors = { concentrate_here: RED, keep_up: GREEN, low_priority: GREY, possible_overkill: BROWN };
    option.series = [{
      type: "scatter",
      data: d.points.map(function (p) {
        return { value: [p.x, p.y], name: p.name, symbol: shapes[p.quadrant] || "circle",
                 itemStyle: { color: colors[p.quadrant] || BLUE } };
      }),
      symbolSize: elder() ? 20 : 14,
      // On a phone the names sit above the points, where the plot has room for them.
      label: { show: true, position: small ? "top" : "right", fontSize: small ? fontSize() - 2 : fontSize() - 1, color: INK,
               formatter: function (p) { return p.name; } },
      labelLayout: { hideOverlap: false, moveOverlap: "shiftY" },
      markLine: { silent: true, symbol: "none", lineStyle: { type: "dashed", color: GREY, width: 1.5 }, label: { show: false },
                  data: [{ xAxis: d.xSplit }, { yAxis: d.ySplit }] },
      markArea: { silent: true, itemStyle: { color: "rgba(163, 32, 26, 0.08)" },
                  label: { show: true, position: "insideBottomLeft", color: RED, fontWeight: 700, fontSize: fontSize() - 1 },
                  data: [[{ name: d.quadrants.concentrate_here, xAxis: xMin, yAxis: d.ySplit }, { xAxis: d.xSplit, yAxis: Number(yMax.toFixed(2)) }]] }
    }];
    return option;
  }

  function driverBars(data, el) {
    var d = data.drivers;
    if (!d || !d.names.length) return null;
    var option = base();
    option.aria = { enabled: false, decal: { show: true } };
    option.grid = { left: 8, right: 56, top: elder() ? 80 : 48, bottom: 8, containLabel: true };
    option.xAxis = { type: "value", min: 0, axisLabel: { formatter: "{value}%", fontSize: fontSize() } };
    option.yAxis = { type: "category", data: d.names, inverse: true, axisLabel: { fontSize: fontSize() } };
    option.tooltip.valueFormatter = function (v) { return num(v) + "%"; };
    var label = { show: true, position: "right", fontSize: fontSize() - 2, formatter: function (p) { return num(p.value) + "%"; } };
    option.series = [
      { name: data.names.relative, type: "bar", data: d.relative, label: label, barMaxWidth: elder() ? 28 : 18 },
      { name: data.names.shapley, type: "bar", data: d.shapley, label: label, barMaxWidth: elder() ? 28 : 18,
        itemStyle: { decal: { symbol: "rect", dashArrayX: [1, 0], dashArrayY: [2, 4], rotation: -Math.PI / 4 } } }
    ];
    sizeByRows(el, d.names.length, 2);
    return option;
  }

  // A line with its 95 % interval as a band: the lower bound, then the width stacked on it.
  function band(name, lower, upper, stack) {
    var width = lower.map(function (low, i) {
      return low === null || upper[i] === null ? null : Number((upper[i] - low).toFixed(2));
    });
    return [
      { name: name, type: "line", data: lower, stack: stack, symbol: "none", lineStyle: { opacity: 0 },
        tooltip: { show: false }, silent: true },
      { name: name, type: "line", data: width, stack: stack, symbol: "none", lineStyle: { opacity: 0 },
        areaStyle: { color: "rgba(11, 79, 156, 0.15)" }, tooltip: { show: false }, silent: true }
    ];
  }

  function tooltipWithInterval(labels, values, lower, upper, names) {
    return function (items) {
      var i = items[0].dataIndex;
      return labels[i] + "<br>" + names.index + " " + num(values[i]) + "<br>" + names.interval + " " +
        num(lower[i]) + "–" + num(upper[i]);
    };
  }

  function trend(data, el) {
    var t = data.trend;
    if (!t || t.labels.length < 2) return null;
    var option = base();
    option.grid = { left: 8, right: 16, top: elder() ? 70 : 44, bottom: 8, containLabel: true };
    option.xAxis = { type: "category", data: t.labels, axisLabel: { fontSize: fontSize(), hideOverlap: true } };
    option.yAxis = { type: "value", min: 0, max: 100, axisLabel: { fontSize: fontSize() } };
    option.legend.data = [data.names.index, data.names.interval];
    option.tooltip.formatter = tooltipWithInterval(t.titles, t.values, t.lower, t.upper, data.names);
    option.series = band(data.names.interval, t.lower, t.upper, "ci").concat([
      { name: data.names.index, type: "line", data: t.values, symbol: "circle", symbolSize: elder() ? 12 : 8,
        lineStyle: { width: elder() ? 4 : 2, color: BLUE }, itemStyle: { color: BLUE },
        label: { show: true, position: "top", fontSize: fontSize() - 2, formatter: function (p) { return num(p.value); } } }
    ]);
    return option;
  }

  function stream(data, el) {
    var s = data.stream;
    if (!s || !s.rated.some(function (n) { return n > 0; })) return null;
    var option = base();
    option.grid = { left: 8, right: 8, top: elder() ? 80 : 48, bottom: 8, containLabel: true };
    option.xAxis = { type: "category", data: s.months, axisLabel: { fontSize: fontSize(), hideOverlap: true } };
    option.yAxis = [
      { type: "value", min: 0, max: 100, axisLabel: { fontSize: fontSize() } },
      { type: "value", minInterval: 1, splitLine: { show: false }, axisLabel: { fontSize: fontSize() } }
    ];
    option.legend.data = [data.names.rating_index, data.names.rate, data.names.rated];
    option.tooltip.formatter = function (items) {
      var i = items[0].dataIndex;
      return s.months[i] + "<br>" + data.names.rating_index + " " + num(s.index[i]) + "（" + data.names.interval + " " +
        num(s.lower[i]) + "–" + num(s.upper[i]) + "）<br>" + data.names.rate + " " + num(s.rate[i]) + "%<br>" +
        data.names.rated + " " + s.rated[i];
    };
    option.series = [
      { name: data.names.rated, type: "bar", yAxisIndex: 1, data: s.rated, barMaxWidth: 18, itemStyle: { color: "#c9d1da" } }
    ].concat(band(data.names.interval, s.lower, s.upper, "ci")).concat([
      { name: data.names.rating_index, type: "line", data: s.index, connectNulls: false, symbol: "circle",
        symbolSize: elder() ? 12 : 8, lineStyle: { width: elder() ? 4 : 2, color: BLUE }, itemStyle: { color: BLUE } },
      { name: data.names.rate, type: "line", data: s.rate, connectNulls: false, symbol: "triangle",
        symbolSize: elder() ? 12 : 8, lineStyle: { width: elder() ? 4 : 2, type: "dashed", color: GREEN }, itemStyle: { color: GREEN } }
    ]);
    return option;
  }

  function rates(data, el) {
    var r = data.rates;
    if (!r || !r.names.length) return null;
    var option = base();
    option.legend = { show: false };
    option.grid = { left: 8, right: 56, top: 16, bottom: 8, containLabel: true };
    option.xAxis = { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%", fontSize: fontSize() } };
    option.yAxis = { type: "category", data: r.names, inverse: true, axisLabel: { fontSize: fontSize() } };
    option.tooltip.formatter = function (items) {
      var i = items[0].dataIndex;
      return r.names[i] + "<br>" + data.names.answered + " " + num(r.rate[i]) + "%（" + r.answered[i] + "/" + r.invited[i] + "）";
    };
    option.series = [{ name: data.names.answered, type: "bar", data: r.rate, barMaxWidth: elder() ? 28 : 18,
      label: { show: true, position: "right", fontSize: fontSize() - 2, formatter: function (p) { return num(p.value) + "%"; } } }];
    sizeByRows(el, r.names.length, 1);
    return option;
  }

  function breakdown(data, el) {
    var b = data.breakdown;
    if (!b || !b.names.length) return null;
    var option = scores({ names: data.names, scores: b }, el);
    return option;
  }

  var BUILDERS = { gauges: gauges, scores: scores, ipa: ipa, drivers: driverBars, trend: trend, stream: stream,
                   rates: rates, breakdown: breakdown };

  function render() {
    if (!window.echarts) return;
    var data = readData();
    if (!data) return;
    Object.keys(charts).forEach(function (id) { charts[id].dispose(); });
    charts = {};
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var build = BUILDERS[el.dataset.chart];
      if (!build) return;
      var option = build(data, el);
      if (!option) { el.hidden = true; return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      el.dataset.rendered = "true";
      charts[el.id] = chart;
    });
    document.querySelectorAll("[data-png]").forEach(function (button) {
      button.hidden = !charts[button.dataset.png];
    });
    document.querySelectorAll("[data-print]").forEach(function (button) { button.hidden = false; });
  }

  function savePng(button) {
    var chart = charts[button.dataset.png];
    if (!chart) return;
    var link = document.createElement("a");
    link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#ffffff" });
    link.download = button.dataset.filename || "chart.png";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var png = target.closest("[data-png]");
    if (png) { savePng(png); return; }
    if (target.closest("[data-print]")) window.print();
  });

  // Redrawn (not only resized) when the width changes: the gauges' layout depends on it.
  var pending = null;
  var width = window.innerWidth;
  window.addEventListener("resize", function () {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    window.clearTimeout(pending);
    pending = window.setTimeout(render, 200);
  });
  // Charts drawn for the screen are resized for the page before printing (and back).
  function resizeAll() { Object.keys(charts).forEach(function (id) { charts[id].resize(); }); }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  if (window.matchMedia) {
    var printing = window.matchMedia("print");
    if (printing.addEventListener) printing.addEventListener("change", resizeAll);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
  else render();
})();
