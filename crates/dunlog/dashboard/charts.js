// Charts drawn as SVG by hand: no library. Each mark is a link or has a text alternative, and
// the numbers also appear in a table beside the chart (a chart alone is not accessible).

import { h, s } from "./ui.js";
import { money, share } from "./format.js";

/** Bucket colours, Current first: distinguishable in greyscale and for common colour blindness. */
export const BUCKET_COLOURS = ["#4c78a8", "#72b7b2", "#eeca3b", "#f58518", "#e45756", "#9d2c2c", "#54323f"];
const LINE_COLOURS = ["#1f5fa8", "#c2410c", "#047857", "#7e22ce", "#a16207"];

/**
 * One stacked horizontal bar per currency: segments are the buckets' shares of that currency's
 * receivables (currencies are never summed or drawn on one scale), each a link to its accounts.
 */
export function agingBars(report, linkFor) {
  const width = 640;
  const barHeight = 28;
  const gap = 30;
  const left = 0;
  const height = report.totals.length * (barHeight + gap) + 4;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-labelledby": "aging-chart-title", class: "chart",
    preserveAspectRatio: "xMinYMin meet",
  }, s("title", { id: "aging-chart-title" }, "Aging by bucket, one bar per currency"));
  report.totals.forEach((t, row) => {
    const y = row * (barHeight + gap) + 18;
    const positive = t.amounts.reduce((s, a) => s + Math.max(0, Number(a)), 0);
    const g = s("g", { role: "group", "aria-label": `${t.currency} aging` });
    g.append(s("text", { x: left, y: y - 5, class: "bar-label" }, `${t.currency} · total ${money(t.total, t.currency)}`));
    let x = left;
    t.amounts.forEach((amount, i) => {
      const w = share(amount, positive) * (width - left);
      if (w <= 0) return;
      const label = `${t.currency} ${report.buckets[i]}: ${money(amount, t.currency)}`;
      const a = s("a", { href: linkFor(t.currency, i), "aria-label": `${label} — list the accounts` },
        s("rect", { x, y, width: Math.max(w, 1), height: barHeight, fill: BUCKET_COLOURS[i % BUCKET_COLOURS.length], class: "segment" },
          s("title", {}, label)));
      g.append(a);
      x += w;
    });
    svg.append(g);
  });
  return svg;
}

export function bucketLegend(buckets) {
  return h("ul", { class: "legend", "aria-label": "Buckets" }, buckets.map((b, i) =>
    h("li", {}, h("span", { class: `swatch b${i % BUCKET_COLOURS.length}` }), b)));
}

/**
 * A line per series over the same x positions (month ends). `series`: [{ name, values: [number|null] }].
 * Gaps (null: no figure that month) break the line.
 */
export function lines(title, labels, series, unit) {
  const width = 320;
  const height = 160;
  const pad = { l: 36, r: 8, t: 10, b: 22 };
  const values = series.flatMap((line) => line.values).filter((v) => v !== null && Number.isFinite(v));
  const max = values.length ? Math.max(...values, 1) : 1;
  const xAt = (i) => pad.l + (labels.length > 1 ? (i * (width - pad.l - pad.r)) / (labels.length - 1) : 0);
  const yAt = (v) => pad.t + (1 - v / max) * (height - pad.t - pad.b);
  const id = `chart-${title.replace(/\W+/g, "-").toLowerCase()}`;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-labelledby": id, class: "chart" },
    s("title", { id }, `${title}, ${labels[0]} to ${labels[labels.length - 1]}`),
    s("line", { x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b, class: "axis" }),
    s("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, class: "axis" }),
    s("text", { x: pad.l - 4, y: pad.t + 8, class: "tick", "text-anchor": "end" }, `${Math.round(max)}`),
    s("text", { x: pad.l - 4, y: height - pad.b, class: "tick", "text-anchor": "end" }, "0"),
    s("text", { x: pad.l, y: height - 6, class: "tick" }, labels[0].slice(0, 7)),
    s("text", { x: width - pad.r, y: height - 6, class: "tick", "text-anchor": "end" }, labels[labels.length - 1]));
  series.forEach((line, k) => {
    const colour = LINE_COLOURS[k % LINE_COLOURS.length];
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(s("polyline", { points: run.join(" "), fill: "none", stroke: colour, "stroke-width": 2 }));
      run = [];
    };
    line.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return flush();
      run.push(`${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`);
      svg.append(s("circle", { cx: xAt(i), cy: yAt(v), r: 2.5, fill: colour },
        s("title", {}, `${line.name} ${labels[i]}: ${v.toFixed(1)}${unit}`)));
    });
    flush();
  });
  const legend = h("ul", { class: "legend" }, series.map((line, k) =>
    h("li", {}, h("span", { class: `swatch l${k % LINE_COLOURS.length}` }), line.name)));
  return h("div", {}, svg, legend);
}
