// cityhub open-data portal: small enhancements of server-rendered pages.
// Every page works without it; with it, the search's facets fold away on
// phones, the sort applies at once, and the dataset page draws its chart
// with Apache ECharts (/static/echarts/, Apache-2.0) from chart.json.
(function () {
  "use strict";

  // Facets take the whole screen of a phone: start them folded there.
  var facets = document.getElementById("facets");
  if (facets && window.matchMedia && window.matchMedia("(max-width: 899px)").matches) {
    facets.removeAttribute("open");
  }

  // A changed sort order applies at once.
  Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (sel) {
    sel.addEventListener("change", function () {
      if (sel.form) {
        sel.form.submit();
      }
    });
  });

  var box = document.getElementById("chart");
  var form = document.getElementById("chart-form");
  var status = document.getElementById("chart-status");
  if (!box || !form || !status) {
    return;
  }
  if (typeof window.echarts === "undefined") {
    var card = document.getElementById("chart-card");
    if (card) {
      card.hidden = true; // no chart library: the table and downloads remain
    }
    return;
  }
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  var filterNote = status.textContent;
  var pending = null;

  function text(name) {
    return box.getAttribute("data-" + name) || "";
  }

  function format(v) {
    if (typeof v !== "number" || !isFinite(v)) {
      return "—";
    }
    return String(Math.round(v * 1000) / 1000);
  }

  function summary(s) {
    var min = Infinity;
    var max = -Infinity;
    s.y.forEach(function (v) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    });
    var out = text("summary")
      .replace("{y}", s.y_label)
      .replace("{n}", String(s.y.length))
      .replace("{min}", format(min))
      .replace("{max}", format(max));
    if (s.truncated) {
      out += text("truncated").replace("{n}", String(s.x.length)).replace("{total}", String(s.total));
    }
    return out;
  }

  function draw(s, type) {
    var category = s.axis === "category";
    var data = category ? s.y : s.x.map(function (x, i) { return [x, s.y[i]]; });
    var xAxis = { type: s.axis, name: s.x_label, nameLocation: "middle", nameGap: 28 };
    if (category) {
      xAxis.data = s.x;
    } else if (s.axis === "value") {
      xAxis.min = "dataMin";
      xAxis.max = "dataMax";
    }
    var series = {
      type: type,
      name: s.y_label,
      data: data,
      showSymbol: s.y.length <= 60,
      itemStyle: { color: "#0f766e" },
      lineStyle: { width: 1.6, color: "#0f766e" }
    };
    if (type === "line") {
      series.sampling = "lttb";
      series.areaStyle = { color: "rgba(15, 118, 110, 0.08)" };
    } else if (type === "scatter") {
      series.symbolSize = s.y.length > 500 ? 3 : 6;
      series.itemStyle.opacity = 0.6;
    }
    chart.setOption({
      animation: false,
      grid: { left: 10, right: 16, top: 30, bottom: 66, containLabel: true },
      // Rich-text tooltips are drawn on the canvas: no inline styles for
      // the page's Content-Security-Policy to refuse.
      tooltip: { trigger: type === "scatter" ? "item" : "axis", renderMode: "richText", confine: true },
      xAxis: xAxis,
      yAxis: { type: "value", name: s.y_label, scale: true },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 6 }],
      series: [series]
    }, true);
    box.setAttribute("data-points", String(s.y.length));
    box.setAttribute("aria-label", summary(s));
    var note = s.y.length > 0 ? summary(s) : text("empty");
    status.textContent = filterNote ? note + " " + filterNote : note;
  }

  function load() {
    var params = new URLSearchParams();
    ["y", "x", "q"].forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (el && el.value) {
        params.set(name, el.value);
      }
    });
    var type = form.elements.namedItem("type").value;
    if (type !== "bar" && type !== "scatter") {
      type = "line";
    }
    if (pending) {
      pending.abort();
    }
    var ctrl = new AbortController();
    pending = ctrl;
    box.removeAttribute("data-points");
    status.textContent = text("loading");
    fetch(form.getAttribute("action") + "?" + params.toString(), { signal: ctrl.signal, headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) {
          throw new Error("HTTP " + res.status);
        }
        return res.json();
      })
      .then(function (s) {
        if (pending === ctrl) {
          pending = null;
          draw(s, type);
        }
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") {
          return;
        }
        pending = null;
        box.setAttribute("data-points", "0");
        status.textContent = text("failed");
      });
  }

  form.addEventListener("change", load);
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    load();
  });
  window.addEventListener("resize", function () {
    chart.resize();
  });
  load();
})();

// The statistics page: the use of the last 30 days as a line chart, from
// the data the page carries (the table below it holds the same numbers).
(function () {
  "use strict";
  var box = document.getElementById("usage-chart");
  if (!box) {
    return;
  }
  if (typeof window.echarts === "undefined") {
    box.hidden = true;
    return;
  }
  var s;
  try {
    s = JSON.parse(box.getAttribute("data-series") || "{}");
  } catch (e) {
    box.hidden = true;
    return;
  }
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  var names = s.labels || ["views", "downloads", "api"];
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: names, top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 32 },
    xAxis: { type: "category", data: s.days || [] },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: names[0], type: "line", data: s.views || [] },
      { name: names[1], type: "line", data: s.downloads || [] },
      { name: names[2], type: "line", data: s.api || [] }
    ]
  });
  box.setAttribute("data-points", String((s.days || []).length));
  window.addEventListener("resize", function () { chart.resize(); });
})();
