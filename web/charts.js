// The monitor's charts: small SVG drawing functions of its own (no library), so that
// the charts print as sharp vectors and the page needs nothing from another host.
// Every chart is an <svg role="img"> with a <title> and <desc>; the caller adds a
// table of the same figures as the text alternative.
"use strict";

const WMCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A "nice" axis maximum and step for values up to max (1, 2, 2.5 or 5 times a
  // power of ten), so the grid lines fall on round numbers.
  function niceScale(max, ticks) {
    if (!(max > 0)) return { max: 1, step: 1 };
    const raw = max / ticks;
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = pow;
    for (const m of [1, 2, 2.5, 5, 10]) {
      if (m * pow >= raw) {
        step = m * pow;
        break;
      }
    }
    if (step < 1) step = 1;
    return { max: Math.ceil(max / step) * step, step };
  }

  function svgRoot(width, height, title, desc) {
    const id = "g" + Math.random().toString(36).slice(2, 9);
    const svg = el("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": `${id}-t ${id}-d`,
      preserveAspectRatio: "xMidYMid meet",
      class: "chart",
    });
    svg.append(el("title", { id: `${id}-t` }, title), el("desc", { id: `${id}-d` }, desc));
    return svg;
  }

  function yAxis(svg, plot, scale, fmt) {
    for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
      const y = plot.y + plot.h - (v / scale.max) * plot.h;
      svg.append(el("line", { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, class: "grid" }));
      svg.append(el("text", { x: plot.x - 8, y: y + 6, class: "tick", "text-anchor": "end" }, fmt(v)));
    }
  }

  // Bars per quarter, grouped under their year. data: [{quarter: "2021-Q3", value,
  // marked}] in time order; marked bars (the chosen period) are drawn dark.
  function quarterBars(data, opts) {
    const width = 960;
    const height = 360;
    const plot = { x: 64, y: 28, w: width - 64 - 16, h: height - 28 - 70 };
    const svg = svgRoot(width, height, opts.title, opts.desc);
    const scale = niceScale(Math.max(1, ...data.map((d) => d.value)), 4);
    yAxis(svg, plot, scale, opts.fmt);
    const n = Math.max(1, data.length);
    const slot = plot.w / n;
    const bw = Math.min(48, slot * 0.7);
    let yearStart = 0;
    data.forEach((d, i) => {
      const h = (d.value / scale.max) * plot.h;
      const x = plot.x + i * slot + (slot - bw) / 2;
      const y = plot.y + plot.h - h;
      svg.append(el("rect", { x, y, width: bw, height: Math.max(h, 0), class: d.marked ? "bar marked" : "bar" }));
      if (d.value > 0 && slot >= 22)
        svg.append(el("text", { x: x + bw / 2, y: y - 6, class: "value", "text-anchor": "middle" }, opts.fmt(d.value)));
      const [year, q] = d.quarter.split("-");
      svg.append(el("text", { x: x + bw / 2, y: plot.y + plot.h + 22, class: "tick", "text-anchor": "middle" },
        q.replace("Q", "K")));
      const last = i === data.length - 1 || data[i + 1].quarter.slice(0, 4) !== year;
      if (last) {
        const x0 = plot.x + yearStart * slot;
        const x1 = plot.x + (i + 1) * slot;
        svg.append(el("text", { x: (x0 + x1) / 2, y: plot.y + plot.h + 50, class: "year", "text-anchor": "middle" }, year));
        if (i < data.length - 1)
          svg.append(el("line", { x1, x2: x1, y1: plot.y, y2: plot.y + plot.h + 56, class: "divider" }));
        yearStart = i + 1;
      }
    });
    svg.append(el("line", { x1: plot.x, x2: plot.x + plot.w, y1: plot.y + plot.h, y2: plot.y + plot.h, class: "axis" }));
    return svg;
  }

  // The programme's cumulative figure against its pro-rata target. points: [{t (ms),
  // actual, expected}] in time order; span: {from, to} (ms) of the x axis; target:
  // the programme's target (drawn as the top of the pro-rata line) or null.
  function cumulative(points, opts) {
    const width = 480;
    const height = 300;
    const plot = { x: 64, y: 24, w: width - 64 - 20, h: height - 24 - 48 };
    const svg = svgRoot(width, height, opts.title, opts.desc);
    const top = Math.max(1, opts.target || 0, ...points.map((p) => Math.max(p.actual, p.expected || 0)));
    const scale = niceScale(top, 4);
    yAxis(svg, plot, scale, opts.fmt);
    const span = Math.max(1, opts.span.to - opts.span.from);
    const px = (t) => plot.x + ((t - opts.span.from) / span) * plot.w;
    const py = (v) => plot.y + plot.h - (v / scale.max) * plot.h;
    // Year ticks on 1 January.
    const y0 = new Date(opts.span.from).getUTCFullYear();
    const y1 = new Date(opts.span.to).getUTCFullYear();
    for (let y = y0; y <= y1; y++) {
      const jan = Date.UTC(y, 0, 1);
      if (jan > opts.span.from)
        svg.append(el("line", { x1: px(jan), x2: px(jan), y1: plot.y + plot.h, y2: plot.y + plot.h + 8, class: "axis" }));
      const a = Math.max(jan, opts.span.from);
      const b = Math.min(Date.UTC(y + 1, 0, 1), opts.span.to);
      if (px(b) - px(a) > 36)
        svg.append(el("text", { x: (px(a) + px(b)) / 2, y: plot.y + plot.h + 28, class: "tick", "text-anchor": "middle" },
          String(y)));
    }
    svg.append(el("line", { x1: plot.x, x2: plot.x + plot.w, y1: plot.y + plot.h, y2: plot.y + plot.h, class: "axis" }));
    const withExp = points.filter((p) => p.expected !== null && p.expected !== undefined);
    if (withExp.length > 1)
      svg.append(el("polyline", { points: withExp.map((p) => `${px(p.t)},${py(p.expected)}`).join(" "), class: "prorata" }));
    if (points.length > 0) {
      svg.append(el("polyline", { points: points.map((p) => `${px(p.t)},${py(p.actual)}`).join(" "), class: "actual" }));
      const last = points[points.length - 1];
      svg.append(el("circle", { cx: px(last.t), cy: py(last.actual), r: 6, class: "actual-dot" }));
      svg.append(el("line", { x1: px(last.t), x2: px(last.t), y1: plot.y, y2: plot.y + plot.h, class: "asof" }));
    }
    return svg;
  }

  return { quarterBars, cumulative };
})();
