// @ts-check
/**
 * The report page's script, inlined by `page.ts` after uPlot: draws every chart spec of
 * `#report-data` with uPlot, then records in `#render-status` how many charts have a visible
 * canvas and how many errors happened (the browser test reads it).
 *
 * A classic browser script (no imports or exports). `deno check tools/` type-checks it (the
 * `@ts-check` above, the JSDoc types below, uPlot's own types) and `deno lint tools/` lints it.
 * The DOM it uses is typed in `page_dom.d.ts` rather than by the DOM library, which would retype
 * every other file of the project for a browser (`deno check .` is one program).
 * Private to `tools/report/`.
 */

/**
 * @typedef {import("uplot")} UPlot
 * @typedef {import("uplot").Options} UOptions
 * @typedef {import("uplot").Series} USeries
 * @typedef {import("uplot").Axis} UAxis
 * @typedef {import("uplot").Scales} UScales
 * @typedef {import("uplot").AlignedData} UData
 * @typedef {import("./charts.ts").ChartSpec} ChartSpec
 * @typedef {import("./page_dom.d.ts").PageElement} PageElement
 * @typedef {import("./page_dom.d.ts").PageGlobals} PageGlobals
 * @typedef {{ plot: UPlot, el: PageElement, spec: ChartSpec }} Drawn
 */

(function () {
  "use strict";
  const win = /** @type {PageGlobals} */ (/** @type {unknown} */ (globalThis));
  const document = win.document;
  const uPlot = win.uPlot;
  const dataEl = /** @type {PageElement} */ (document.getElementById("report-data"));
  /** @type {ChartSpec[]} */
  const specs = JSON.parse(dataEl.textContent || "[]");
  const status = /** @type {PageElement} */ (document.getElementById("render-status"));
  /** @type {Drawn[]} */
  const plots = [];

  /** @param {number | null | undefined} v */
  function fmtMs(v) {
    if (v == null || isNaN(v)) return "–";
    return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
  }
  /** @param {number | null} v */
  function fmtAxisMs(v) {
    if (v == null) return "";
    return v >= 1000
      ? (v / 1000).toLocaleString("en-US") + "k"
      : v < 1
      ? String(+v.toFixed(3))
      : String(+v.toFixed(2));
  }
  /**
   * x = 1/(1-p) on the spectrum: back to a percentile, as many decimals as its "nines" need.
   * @param {number | null} x
   */
  function pctOf(x) {
    if (x == null) return "";
    const p = 100 * (1 - 1 / x);
    const d = Math.max(0, Math.ceil(Math.log10(x) - 1e-9) - 2);
    return (+p.toFixed(d + 1)).toString() + "%";
  }
  /**
   * 1, 2 and 5 times each power of ten between `min` and `max`.
   * @param {number} min
   * @param {number} max
   */
  function logSplits(min, max) {
    /** @type {number[]} */
    const out = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      [1, 2, 5].forEach(function (m) {
        const v = m * Math.pow(10, e);
        if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
      });
    }
    return out;
  }
  const axisFont = "12px system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";
  const labelFont = "bold 12px system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";
  const grid = { stroke: "#e4e8ec", width: 1 };
  const ticks = { stroke: "#c8d0d8", width: 1, size: 4 };

  /**
   * @param {string} label
   * @param {string} scale
   * @param {0 | 1 | 2 | 3} side
   * @param {boolean | undefined} log
   * @returns {UAxis}
   */
  function yAxis(label, scale, side, log) {
    /** @type {UAxis} */
    const a = {
      scale: scale,
      label: label,
      side: side,
      font: axisFont,
      labelFont: labelFont,
      grid: side === 1 ? { show: false } : grid,
      ticks: ticks,
      size: 56,
      labelSize: 22,
      values: function (_u, splits) {
        return splits.map(fmtAxisMs);
      },
    };
    if (log) {
      a.splits = function (_u, _i, min, max) {
        return logSplits(min, max);
      };
    }
    return a;
  }

  /**
   * Vertical labelled lines across a chart (the ladder's knee).
   * @param {UPlot} u
   * @param {import("./charts.ts").ChartMark[]} marks
   */
  function drawMarks(u, marks) {
    const ctx = u.ctx;
    marks.forEach(function (m) {
      const x = Math.round(u.valToPos(m.x, "x", true));
      ctx.save();
      ctx.strokeStyle = m.color;
      ctx.fillStyle = m.color;
      ctx.lineWidth = 2 * win.devicePixelRatio;
      ctx.setLineDash([6 * win.devicePixelRatio, 4 * win.devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.font = "bold " + 12 * win.devicePixelRatio + "px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(m.label, x, u.bbox.top - 6 * win.devicePixelRatio);
      ctx.restore();
    });
  }

  /**
   * Replaces uPlot's legend squares with a sample of each series' own line (colour, width and
   * dash), bar or ring, and writes what it drew into `data-key`, so entries that look alike can
   * be found (`data-legend-clashes` in `#render-status`).
   * @param {UPlot} plot
   * @param {ChartSpec} spec
   * @returns {number} pairs of entries of this chart that look alike
   */
  function legendSamples(plot, spec) {
    const markers = plot.root.querySelectorAll(".u-legend .u-series .u-marker");
    /** @type {string[]} */
    const keys = [];
    // The first legend row is the x value (no marker there when it has one: skip by count).
    const offset = markers.length - spec.series.length;
    spec.series.forEach(function (s, i) {
      const el = markers[i + offset];
      if (!el) return;
      const kind = s.pointsOnly ? "ring" : s.bars ? "bar" : "line";
      const dash = s.dash ? s.dash.join(",") : "solid";
      const key = s.color.toLowerCase() + "|" + kind + "|" + dash;
      keys.push(key);
      el.setAttribute("data-key", key);
      el.style.border = "none";
      el.style.background = "none";
      el.style.width = "28px";
      el.style.height = "12px";
      const c = document.createElement("canvas");
      const r = win.devicePixelRatio || 1;
      c.width = 28 * r;
      c.height = 12 * r;
      c.style.width = "28px";
      c.style.height = "12px";
      const ctx = c.getContext("2d");
      if (ctx) {
        ctx.scale(r, r);
        ctx.strokeStyle = s.color;
        ctx.fillStyle = s.color;
        if (kind === "bar") ctx.fillRect(4, 1, 20, 10);
        else if (kind === "ring") {
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.arc(14, 6, 4.5, 0, 2 * Math.PI);
          ctx.stroke();
        } else {
          ctx.lineWidth = Math.max(1.5, Math.min(3, s.width == null ? 1.5 : s.width));
          ctx.setLineDash(s.dash || []);
          ctx.beginPath();
          ctx.moveTo(0, 6);
          ctx.lineTo(28, 6);
          ctx.stroke();
        }
      }
      el.appendChild(c);
    });
    let clashes = 0;
    keys.forEach(function (k, i) {
      if (keys.indexOf(k) !== i) clashes++;
    });
    return clashes;
  }

  /**
   * uPlot's options for one chart spec, `width` pixels wide.
   * @param {ChartSpec} spec
   * @param {number} width
   * @returns {UOptions}
   */
  function build(spec, width) {
    /** @type {USeries[]} */
    const series = [{
      label: spec.kind === "spectrum"
        ? "percentile"
        : spec.kind === "stacked"
        ? "attempt"
        : spec.kind === "ladder"
        ? "offered /s"
        : "second",
      value: function (_u, v) {
        if (v == null) return "–";
        return spec.kind === "spectrum" ? pctOf(v) : String(v);
      },
    }];
    spec.series.forEach(function (s) {
      /** @type {USeries} */
      const o = {
        label: s.label,
        stroke: s.color,
        width: s.width == null ? 1.5 : s.width,
        spanGaps: spec.kind === "spectrum",
        points: {
          show: s.points ||
            (spec.kind === "lines" && !s.bars && !s.dash && spec.x.length <= 60),
          size: 6,
        },
        scale: "y",
      };
      if (s.dash) o.dash = s.dash;
      if (s.stepped) o.paths = uPlot.paths.stepped?.({ align: 1 });
      if (s.pointsOnly) {
        o.paths = function () {
          return null;
        };
        o.points = { show: true, size: 16, width: 2.5, stroke: s.color, fill: "transparent" };
      }
      if (s.bars) {
        o.paths = uPlot.paths.bars?.({ size: [0.8, 60], gap: 1 });
        o.fill = s.color;
        o.width = 0;
      }
      const raw = s.raw;
      o.value = function (_u, v, _si, idx) {
        if (s.marker) return v == null ? "no" : "yes";
        if (raw) return idx == null ? "–" : fmtMs(raw[idx]) + " ms";
        if (v == null) return "–";
        if (spec.unit === "count" || spec.unit === "rate") return String(Math.round(v));
        if (spec.unit === "%") return (+v.toFixed(2)) + " %";
        return fmtMs(v) + " ms";
      };
      series.push(o);
    });
    /** @type {UScales} */
    const scales = { y: { distr: spec.logY ? 3 : 1 } };
    const yRange = spec.yRange;
    if (yRange) {
      scales.y.range = function () {
        return [yRange[0], yRange[1]];
      };
    } else if (!spec.logY) {
      scales.y.range = function (_u, _min, max) {
        return [0, max > 0 ? max * 1.08 : 1];
      };
    }
    /** @type {UAxis} */
    const xAxis = {
      label: spec.xLabel,
      font: axisFont,
      labelFont: labelFont,
      grid: grid,
      ticks: ticks,
      size: 30,
      labelSize: 20,
    };
    if (spec.kind === "spectrum") {
      const xmax = spec.x[spec.x.length - 1] || 10;
      const top = Math.pow(10, Math.max(1, Math.ceil(Math.log10(xmax) - 1e-9)));
      scales.x = {
        time: false,
        distr: 3,
        log: 10,
        range: function () {
          return [1, top];
        },
      };
      // Each decade of x is one more "nine"; the 2× points are 50 %, 95 %, 99.5 %...
      xAxis.splits = function (_u, _i, _min, max) {
        /** @type {number[]} */
        const out = [];
        for (let v = 1; v <= max * 1.001; v *= 10) {
          out.push(v);
          if (v * 2 <= max) out.push(v * 2);
        }
        return out;
      };
      xAxis.values = function (_u, splits) {
        return splits.map(pctOf);
      };
      // uPlot's log axes hide labels between powers of ten; these are wanted.
      xAxis.filter = function (_u, splits) {
        return splits;
      };
    } else if (spec.kind === "ladder") {
      const lo = spec.x[0], hi = spec.x[spec.x.length - 1];
      const pad = Math.max((hi - lo) * 0.06, hi * 0.02, 1);
      scales.x = {
        time: false,
        range: function () {
          return [Math.max(0, lo - pad), hi + pad];
        },
      };
    } else {
      scales.x = { time: false };
      if (spec.kind === "stacked" || spec.sync) {
        // Half a step either side, so the first and last bars are not cut in half.
        const n = spec.x.length, step = n > 1 ? spec.x[1] - spec.x[0] : 1;
        scales.x.range = function () {
          return [spec.x[0] - step / 2, spec.x[n - 1] + step / 2];
        };
      }
      // Seconds and attempts are whole numbers: no ticks between them.
      xAxis.incrs = [
        1,
        2,
        5,
        10,
        20,
        25,
        50,
        100,
        200,
        250,
        500,
        1000,
        2000,
        5000,
        10000,
        20000,
        50000,
      ];
    }
    const axes = [xAxis, yAxis(spec.yLabel + (spec.logY ? ", log scale" : ""), "y", 3, spec.logY)];
    const marks = spec.marks || [];
    /** @type {UOptions & { cursor: NonNullable<UOptions["cursor"]> }} */
    const opts = {
      width: width,
      height: spec.height,
      series: series,
      scales: scales,
      axes: axes,
      legend: { live: true },
      cursor: { points: { size: 6 }, drag: { x: true, y: false } },
      padding: [marks.length ? 22 : 10, 28, 0, 0],
      // Values in the legend only while hovering: "–" everywhere would read as missing data.
      hooks: {
        setLegend: [function (u) {
          u.root.classList.toggle("idle", u.cursor.idx == null);
        }],
        draw: [function (u) {
          drawMarks(u, marks);
        }],
      },
    };
    if (spec.sync) opts.cursor.sync = { key: spec.sync };
    return opts;
  }

  /** Draws every chart, then fills in `#render-status`. */
  function draw() {
    let clashes = 0;
    specs.forEach(function (spec) {
      const el = document.getElementById(spec.id);
      if (!el) return;
      try {
        const data = /** @type {UData} */ ([spec.x].concat(spec.series.map(function (s) {
          return /** @type {number[]} */ (s.y);
        })));
        const p = new uPlot(build(spec, el.clientWidth || 1200), data, el);
        p.root.classList.add("idle");
        clashes += legendSamples(p, spec);
        plots.push({ plot: p, el: el, spec: spec });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        win.__reportErrors.push(String(message || e));
        const msg = document.createElement("div");
        msg.className = "chart-error";
        msg.textContent = "This chart could not be drawn: " + (message || e);
        el.appendChild(msg);
      }
    });
    let drawn = 0;
    plots.forEach(function (p) {
      const c = p.el.querySelector("canvas");
      if (c && c.width > 0 && c.height > 0 && c.getBoundingClientRect().width > 0) drawn++;
    });
    status.setAttribute("data-charts", String(drawn));
    status.setAttribute("data-errors", String(win.__reportErrors.length));
    status.setAttribute("data-legend-clashes", String(clashes));
    status.setAttribute("data-height", String(document.documentElement.scrollHeight));
    // Wider than the window: the page scrolls sideways (a table or chart that does not fit).
    status.setAttribute(
      "data-overflow-x",
      String(document.documentElement.scrollWidth - document.documentElement.clientWidth),
    );
    status.setAttribute("data-done", "1");
  }

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let resizeTimer;
  globalThis.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (p) {
        p.plot.setSize({ width: p.el.clientWidth, height: p.spec.height });
      });
    }, 100);
  });
  draw();
})();
