/* The statistics dashboard: draws each statistic's chart with Apache ECharts (vendored).
 *
 * The data is the page's own: a `<script type="application/json" id="statistics-data">` block
 * rendered by the server (no inline script, so the Content-Security-Policy holds), the same
 * numbers as the table under each chart. Charts are SVG and follow their box's width, so they
 * redraw when a phone turns or a window narrows.
 */
(() => {
  "use strict";

  const FONT = getComputedStyle(document.body).fontFamily || "sans-serif";
  const COLOURS = ["#0b6e4f", "#e0a43a", "#5470c6", "#d9534f", "#73c0de"];
  const ROW_HEIGHT = 30;

  function narrow() {
    return window.matchMedia("(max-width: 600px)").matches;
  }

  function option(chart) {
    const several = chart.series.length > 1;
    // The category axis has no name: its labels (days, companies, reasons) say what they
    // are, and the table's header names them.
    const category = {
      type: "category",
      data: chart.categories,
      inverse: chart.horizontal,
      axisLabel: {
        width: narrow() ? 96 : 180,
        overflow: "truncate",
        hideOverlap: true,
      },
    };
    const value = {
      type: "value",
      name: chart.valueName,
      minInterval: chart.kind === "line" ? 0 : 1,
      nameLocation: chart.horizontal ? "middle" : "end",
      nameGap: chart.horizontal ? 26 : 15,
      nameTextStyle: { align: chart.horizontal ? "center" : "left" },
    };
    return {
      animation: false,
      color: COLOURS,
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", confine: true },
      legend: several ? { top: 0, type: "scroll" } : undefined,
      // Room at the sides for the first and last day, whose labels are centred on their bars.
      grid: {
        left: chart.horizontal ? 8 : 36,
        right: chart.horizontal ? 24 : 44,
        top: several ? 52 : 32,
        bottom: chart.horizontal ? 28 : 8,
        containLabel: true,
      },
      xAxis: chart.horizontal ? value : category,
      yAxis: chart.horizontal ? category : value,
      series: chart.series.map((series) => ({
        name: series.name,
        type: chart.kind,
        data: series.data,
        barMaxWidth: 28,
        showSymbol: chart.categories.length <= 31,
      })),
    };
  }

  function draw(chart, box) {
    if (chart.horizontal) {
      box.style.height = `${Math.max(200, chart.categories.length * ROW_HEIGHT + 90)}px`;
    }
    const instance = window.echarts.init(box, null, { renderer: "svg" });
    instance.setOption(option(chart));
    return instance;
  }

  function start() {
    const data = document.getElementById("statistics-data");
    if (!data || !window.echarts) {
      return;
    }
    const drawn = [];
    for (const chart of JSON.parse(data.textContent)) {
      const box = document.querySelector(`[data-chart="${chart.key}"]`);
      if (box) {
        drawn.push({ chart, instance: draw(chart, box) });
      }
    }
    let waiting = null;
    const redraw = () => {
      window.clearTimeout(waiting);
      waiting = window.setTimeout(() => {
        for (const { chart, instance } of drawn) {
          instance.setOption(option(chart));
          instance.resize();
        }
      }, 100);
    };
    window.addEventListener("resize", redraw);
    document.documentElement.dataset.chartsDrawn = String(drawn.length);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
