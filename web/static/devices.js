// cityhub console: the device page's chart. It draws one property of the
// device with Apache ECharts (static/echarts/, Apache-2.0) from the
// console's series.json; without it the page offers the same readings as
// CSV.
(function () {
  "use strict";

  var box = document.getElementById("device-chart");
  var form = document.getElementById("chart-form");
  var status = document.getElementById("chart-status");
  var csvLink = document.getElementById("series-csv");
  if (!box || !form || !status || typeof window.echarts === "undefined") {
    return;
  }
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  var pending = null; // the request in flight, superseded by a newer one

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
    var last = null;
    s.points.forEach(function (p) {
      if (p[1] === null) {
        return;
      }
      min = Math.min(min, p[1]);
      max = Math.max(max, p[1]);
      last = p[1];
    });
    var unit = s.unit ? " " + s.unit : "";
    return text("summary")
      .replace("{label}", s.label)
      .replace("{n}", String(s.count))
      .replace("{step}", text("step-" + s.step))
      .replace("{min}", format(min) + unit)
      .replace("{max}", format(max) + unit)
      .replace("{last}", format(last) + unit);
  }

  function draw(s) {
    var label = s.label + (s.unit ? " (" + s.unit + ")" : "");
    chart.setOption({
      animation: false,
      grid: { left: 12, right: 18, top: 36, bottom: 58, containLabel: true },
      // Rich-text tooltips are drawn on the canvas: no inline styles for
      // the page's Content-Security-Policy to refuse.
      tooltip: { trigger: "axis", renderMode: "richText", confine: true },
      xAxis: { type: "time", min: s.from, max: s.to },
      yAxis: { type: "value", name: s.unit || "", scale: true },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 22, bottom: 8 }],
      series: [{
        type: "line",
        name: label,
        data: s.points,
        showSymbol: s.count <= 60,
        connectNulls: false,
        sampling: "lttb",
        lineStyle: { width: 1.6, color: "#1d4ed8" },
        itemStyle: { color: "#1d4ed8" },
        areaStyle: { color: "rgba(29, 78, 216, 0.08)" }
      }]
    }, true);
    box.setAttribute("aria-label", summary(s));
    box.setAttribute("data-points", String(s.count));
    status.textContent = s.count > 0 ? summary(s) : text("empty");
  }

  function query() {
    var key = form.elements.namedItem("key");
    var range = form.elements.namedItem("range");
    return "?key=" + encodeURIComponent(key ? key.value : "") +
      "&range=" + encodeURIComponent(range ? range.value : "");
  }

  function load() {
    var q = query();
    if (csvLink) {
      csvLink.href = text("csv-url") + q;
    }
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + q);
    }
    status.textContent = text("loading");
    box.removeAttribute("data-points");
    var req = {};
    pending = req;
    fetch(text("series-url") + q, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        var type = resp.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") !== 0) {
          throw new Error(String(resp.status));
        }
        return resp.json().then(function (body) {
          if (!resp.ok) {
            throw new Error(body && body.error ? body.error : String(resp.status));
          }
          return body;
        });
      })
      .then(function (s) {
        if (pending === req) {
          draw(s);
        }
      }, function (err) {
        if (pending === req) {
          chart.clear();
          status.textContent = text("failed") + err.message;
        }
      });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    load();
  });
  form.addEventListener("change", load);
  var submit = document.getElementById("chart-submit");
  if (submit) {
    submit.hidden = true; // the selects draw as they change
  }
  window.addEventListener("resize", function () {
    chart.resize();
  });
  load();
})();
