// Overview: aging per currency (stacked bars and totals), DSO and CEI at month ends, accounts by
// exposure status, promises due this week, the top debtors. Refreshed live from `events`.

import { all, gql } from "./api.js";
import { agingBars, bucketLegend, lines } from "./charts.js";
import { addDays, compareDecimal, days, money, monthEnds, percent } from "./format.js";
import { announce, h, href, link, loading, onLedgerEvent, show, table } from "./ui.js";

const AGING = `query OverviewAging($first: Int, $after: String) {
  aging(first: $first, after: $after) {
    asOf buckets
    totals { currency amounts unapplied total }
    rows { nodes { customerId name currency total } pageInfo { hasNextPage endCursor } }
  }
}`;
const EXPOSURES = `query OverviewExposures($first: Int, $after: String) {
  exposures(first: $first, after: $after) { nodes { customerId status currency } pageInfo { hasNextPage endCursor } }
}`;
const PROMISES = `query OverviewPromises($first: Int, $after: String) {
  promises(first: $first, after: $after) {
    nodes { customerId promiseId amount promisedOn status } pageInfo { hasNextPage endCursor }
  }
}`;
const STATUSES = ["OK", "PROBATION", "OVER_LIMIT", "CASH_ONLY", "HELD"];
/** "This week": today and the six days after it (a collector's week ahead, on any weekday). */
const WEEK_DAYS = 7;
const TOP_DEBTORS = 10;

/** The metrics of each month end (one request, one alias per date). */
function metricsQuery(dates) {
  const fields = dates.map((d, i) => `m${i}: metrics(asOf: "${d}") { currency dso cei promiseKeptRate averageDaysToPay }`);
  return `query OverviewMetrics { ${fields.join("\n")} }`;
}

export async function overviewPage() {
  const body = h("div", { class: "overview" }, loading());
  show("Overview", body);
  let pending = null;
  const refresh = async () => {
    const started = performance.now();
    const content = await load();
    const focused = document.activeElement && body.contains(document.activeElement)
      ? document.activeElement.getAttribute("href") : null;
    body.replaceChildren(...content);
    if (focused) {
      const again = body.querySelector(`a[href="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    body.setAttribute("data-loaded-ms", String(Math.round(performance.now() - started)));
  };
  onLedgerEvent((event) => {
    // Many events arrive together (a tick, an import): refresh once they settle.
    clearTimeout(pending);
    pending = setTimeout(async () => {
      if (!document.body.contains(body)) return;
      await refresh();
      announce(`Overview updated (log position ${event.position}).`);
    }, 500);
  });
  await refresh();
}

async function load() {
  const first = await gql(AGING, { first: 500, after: null });
  const report = first.aging;
  const rows = [...report.rows.nodes];
  let info = report.rows.pageInfo;
  while (info.hasNextPage) {
    const next = await gql(AGING, { first: 500, after: info.endCursor });
    rows.push(...next.aging.rows.nodes);
    info = next.aging.rows.pageInfo;
  }
  const today = report.asOf;
  const dates = monthEnds(today, 12);
  const [exposures, promises, metrics] = await Promise.all([
    all(EXPOSURES, {}, (d) => d.exposures),
    all(PROMISES, {}, (d) => d.promises),
    gql(metricsQuery(dates)),
  ]);
  const names = new Map(rows.map((r) => [r.customerId, r.name]));
  const currencyOf = new Map(exposures.map((e) => [e.customerId, e.currency]));
  return [
    h("p", { class: "muted" }, `As of ${today}. Every figure links to the accounts behind it.`),
    h("section", { "aria-labelledby": "h-aging" },
      h("h2", { id: "h-aging" }, "Aging by bucket"),
      agingBars(report, (currency, bucket) => href("aging", null, { currency, bucket })),
      bucketLegend(report.buckets),
      agingTotals(report)),
    h("div", { class: "grid" },
      metricsSection(dates, metrics),
      statusSection(exposures)),
    h("div", { class: "grid" },
      promisesSection(today, promises, names, currencyOf),
      debtorsSection(report, rows)),
  ];
}

function agingTotals(report) {
  const columns = [
    { label: "Currency", value: (t) => t.currency },
    ...report.buckets.map((b, i) => ({
      label: b, amount: true,
      value: (t) => link(href("aging", null, { currency: t.currency, bucket: i }), money(t.amounts[i], t.currency),
        { "aria-label": `${t.currency} ${b}: ${money(t.amounts[i], t.currency)}` }),
    })),
    { label: "Unapplied", amount: true, value: (t) => money(t.unapplied, t.currency) },
    {
      label: "Total", amount: true,
      value: (t) => link(href("aging", null, { currency: t.currency }), money(t.total, t.currency),
        { "aria-label": `${t.currency} total: ${money(t.total, t.currency)}` }),
    },
  ];
  return table("Aging totals per currency (never summed across currencies)", columns, report.totals);
}

function metricsSection(dates, metrics) {
  const currencies = [...new Set(Object.values(metrics).flat().map((m) => m.currency))].sort();
  const at = (i, currency, key) => {
    const m = (metrics[`m${i}`] || []).find((x) => x.currency === currency);
    return m && m[key] !== null && m[key] !== undefined ? Number(m[key]) : null;
  };
  const series = (key) => currencies.map((c) => ({ name: c, values: dates.map((_, i) => at(i, c, key)) }));
  const last = dates.length - 1;
  const now = metrics[`m${last}`] || [];
  return h("section", { "aria-labelledby": "h-metrics" },
    h("h2", { id: "h-metrics" }, "DSO and CEI, month ends"),
    h("div", { class: "pair" },
      h("figure", {}, lines("DSO (days)", dates, series("dso"), " days"), h("figcaption", {}, "DSO, 90-day window")),
      h("figure", {}, lines("CEI (percent)", dates, series("cei"), " %"), h("figcaption", {}, "CEI, percent"))),
    table(`Today (${dates[last]})`, [
      { label: "Currency", value: (m) => m.currency },
      { label: "DSO", amount: true, value: (m) => link(href("aging", null, { currency: m.currency }), days(m.dso), { "aria-label": `${m.currency} DSO ${days(m.dso)}: open receivables` }) },
      { label: "CEI", amount: true, value: (m) => percent(m.cei) },
      { label: "Promises kept", amount: true, value: (m) => percent(m.promiseKeptRate) },
      { label: "Avg days to pay", amount: true, value: (m) => days(m.averageDaysToPay) },
    ], now),
    h("details", {}, h("summary", {}, "The trend as a table"),
      table("DSO and CEI at each month end", [
        { label: "Month end", value: (r) => r.date },
        ...currencies.flatMap((c) => [
          { label: `${c} DSO`, amount: true, value: (r) => days(at(r.i, c, "dso")) },
          { label: `${c} CEI`, amount: true, value: (r) => percent(at(r.i, c, "cei")) },
        ]),
      ], dates.map((date, i) => ({ date, i })))));
}

function statusSection(exposures) {
  const counts = new Map(STATUSES.map((s) => [s, 0]));
  for (const e of exposures) counts.set(e.status, (counts.get(e.status) || 0) + 1);
  return h("section", { "aria-labelledby": "h-status" },
    h("h2", { id: "h-status" }, "Accounts by exposure status"),
    table("Accounts by exposure status", [
      { label: "Status", value: (s) => s[0].replace("_", " ") },
      {
        label: "Accounts", amount: true,
        value: (s) => link(href("accounts", null, { status: s[0] }), String(s[1]), { "aria-label": `${s[1]} accounts ${s[0].replace("_", " ")}` }),
      },
    ], [...counts.entries()]));
}

function promisesSection(today, promises, names, currencyOf) {
  const end = addDays(today, WEEK_DAYS - 1);
  const due = promises
    .filter((p) => p.status === "OPEN" && p.promisedOn >= today && p.promisedOn <= end)
    .sort((a, b) => a.promisedOn.localeCompare(b.promisedOn) || a.customerId.localeCompare(b.customerId));
  return h("section", { "aria-labelledby": "h-promises" },
    h("h2", { id: "h-promises" }, "Promises due this week"),
    table(`Open promises due ${today} to ${end}`, [
      { label: "Customer", value: (p) => link(href("customer", p.customerId), names.get(p.customerId) || p.customerId) },
      { label: "Promise", value: (p) => p.promiseId },
      { label: "Due", value: (p) => p.promisedOn },
      { label: "Amount", amount: true, value: (p) => money(p.amount, currencyOf.get(p.customerId)) },
    ], due));
}

function debtorsSection(report, rows) {
  return h("section", { "aria-labelledby": "h-debtors" },
    h("h2", { id: "h-debtors" }, `Top ${TOP_DEBTORS} debtors`),
    report.totals.map((t) => {
      const top = rows.filter((r) => r.currency === t.currency)
        .sort((a, b) => compareDecimal(b.total, a.total) || a.customerId.localeCompare(b.customerId))
        .slice(0, TOP_DEBTORS);
      return table(`Top ${TOP_DEBTORS} debtors, ${t.currency}`, [
        { label: "Customer", value: (r) => link(href("customer", r.customerId), r.name) },
        { label: "Total", amount: true, value: (r) => money(r.total, r.currency) },
      ], top);
    }));
}
