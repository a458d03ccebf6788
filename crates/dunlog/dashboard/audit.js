// Audit: verify the hash chain, browse the raw events, and travel in time — aging and one
// customer as the ledger knew them at an instant, beside now, with the differences marked.

import { all, gql, may } from "./api.js";
import { compareDecimal, instant, money } from "./format.js";
import { errorBox, field, h, href, link, loading, show, table } from "./ui.js";

const EVENTS = `query Events($after: Position, $stream: String, $first: Int) {
  events(after: $after, stream: $stream, first: $first) {
    nodes { position stream version type occurredAt recordedAt actor policyVersion hash prevHash }
    pageInfo { hasNextPage endCursor }
  }
}`;
const EVENT = `query Event($after: Position) {
  events(after: $after, first: 2) {
    nodes { position stream version eventId type schema occurredAt recordedAt actor policyVersion payload prevHash hash }
  }
}`;
const AGING_AT = `query AgingAt($knownAt: DateTime, $first: Int, $after: String) {
  aging(knownAt: $knownAt, first: $first, after: $after) {
    asOf buckets totals { currency total }
    rows { nodes { customerId name currency total } pageInfo { hasNextPage endCursor } }
  }
}`;
const CUSTOMER_AT = `query CustomerAt($id: ID!, $knownAt: DateTime) {
  then: exposure(customerId: $id, knownAt: $knownAt) { currency exposure effectiveLimit available status openPromises }
  now: exposure(customerId: $id) { currency exposure effectiveLimit available status openPromises }
  thenTimeline: timeline(customerId: $id, knownAt: $knownAt) { position }
  nowTimeline: timeline(customerId: $id) { position type occurredAt recordedAt summary }
}`;
const PAGE = 50;

export async function auditPage(_arg, params) {
  if (!may("auditor")) {
    return show("Audit", errorBox("The audit pages need the auditor role or higher (raw events and verifyLog)."));
  }
  const knownAt = params.get("knownAt") || "";
  const customer = params.get("customer") || "";
  show("Audit", verifySection(), travelForm(knownAt, customer), h("div", { id: "travel" }), browserSection(params));
  if (knownAt) await travel(knownAt, customer);
}

function verifySection() {
  const out = h("div", { role: "status" });
  const button = h("button", { type: "button" }, "Verify the log");
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.replaceChildren(loading());
    try {
      const { verifyLog: v } = await gql("{ verifyLog { ok checked firstBadPosition message } }");
      out.replaceChildren(h("p", { class: v.ok ? "ok" : "error" }, v.ok
        ? `The hash chain holds: ${v.checked} events checked.`
        : `The chain is broken at position ${v.firstBadPosition}: ${v.message || "no detail"} (${v.checked} checked).`));
    } catch (err) {
      out.replaceChildren(errorBox(err.message));
    }
    button.disabled = false;
  });
  return h("section", { "aria-labelledby": "h-verify", class: "card" },
    h("h2", { id: "h-verify" }, "Hash chain"),
    h("p", {}, "Walks every event's hash from position 1 and reports the first one that does not match."),
    button, out);
}

function travelForm(knownAt, customer) {
  const at = field("Known at (UTC instant, RFC 3339)", "knownAt", "text", knownAt, { placeholder: "2026-03-31T17:00:00Z", required: true, spellcheck: "false" });
  const who = field("Customer id (optional)", "customer", "text", customer, { spellcheck: "false" });
  const form = h("form", { class: "inline" }, at.row, who.row, h("button", { type: "submit" }, "Show as known then"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = href("audit", null, { knownAt: at.input.value.trim(), customer: who.input.value.trim() });
  });
  return h("section", { "aria-labelledby": "h-travel", class: "card" },
    h("h2", { id: "h-travel" }, "Time travel"),
    h("p", {}, "What the ledger knew at an instant: only events recorded at or before it count. Today's business date either way."),
    form);
}

async function travel(knownAt, customer) {
  const out = document.getElementById("travel");
  out.replaceChildren(loading());
  try {
    const pick = (d) => d.aging.rows;
    let thenReport = null;
    let nowReport = null;
    const [thenRows, nowRows] = await Promise.all([
      all(AGING_AT, { knownAt }, (d) => { thenReport = d.aging; return pick(d); }),
      all(AGING_AT, { knownAt: null }, (d) => { nowReport = d.aging; return pick(d); }),
    ]);
    const parts = [h("h2", {}, `As known at ${knownAt}, beside now`)];
    if (customer) parts.push(await customerThenAndNow(customer, knownAt));
    const currencies = [...new Set([...thenReport.totals, ...nowReport.totals].map((t) => t.currency))].sort();
    const totalOf = (report, c) => (report.totals.find((t) => t.currency === c) || { total: "0" }).total;
    parts.push(table("Aging totals then and now", [
      { label: "Currency", value: (c) => c },
      { label: "Then", amount: true, value: (c) => money(totalOf(thenReport, c), c) },
      { label: "Now", amount: true, value: (c) => money(totalOf(nowReport, c), c) },
      { label: "Changed", value: (c) => changed(totalOf(thenReport, c), totalOf(nowReport, c)) },
    ], currencies, (c) => ({ class: compareDecimal(totalOf(thenReport, c), totalOf(nowReport, c)) ? "diff" : null })));
    const then = new Map(thenRows.map((r) => [r.customerId, r]));
    const now = new Map(nowRows.map((r) => [r.customerId, r]));
    const ids = [...new Set([...then.keys(), ...now.keys()])].sort();
    const differing = ids.filter((id) => compareDecimal((then.get(id) || { total: "0" }).total, (now.get(id) || { total: "0" }).total) !== 0);
    parts.push(table(`Accounts whose aging total differs (${differing.length} of ${ids.length})`, [
      { label: "Customer", value: (id) => link(href("customer", id), (now.get(id) || then.get(id)).name) },
      { label: "Then", amount: true, value: (id) => then.has(id) ? money(then.get(id).total, then.get(id).currency) : "—" },
      { label: "Now", amount: true, value: (id) => now.has(id) ? money(now.get(id).total, now.get(id).currency) : "—" },
      { label: "Changed", value: () => h("mark", {}, "changed") },
    ], differing, () => ({ class: "diff" })));
    out.replaceChildren(...parts);
  } catch (err) {
    out.replaceChildren(errorBox(err.message));
  }
}

function changed(a, b) {
  return compareDecimal(a, b) === 0 ? "same" : h("mark", {}, "changed");
}

async function customerThenAndNow(id, knownAt) {
  let d;
  try {
    d = await gql(CUSTOMER_AT, { id, knownAt });
  } catch (err) {
    return errorBox(`Customer ${id}: ${err.message}`);
  }
  const c = d.now.currency;
  const rows = [
    ["Exposure", money(d.then.exposure, c), money(d.now.exposure, c), compareDecimal(d.then.exposure, d.now.exposure) !== 0],
    ["Available", money(d.then.available, c), money(d.now.available, c), compareDecimal(d.then.available, d.now.available) !== 0],
    ["Status", d.then.status, d.now.status, d.then.status !== d.now.status],
    ["Open promises", String(d.then.openPromises), String(d.now.openPromises), d.then.openPromises !== d.now.openPromises],
    ["Timeline entries", String(d.thenTimeline.length), String(d.nowTimeline.length), d.thenTimeline.length !== d.nowTimeline.length],
  ];
  const known = new Set(d.thenTimeline.map((t) => t.position));
  const since = d.nowTimeline.filter((t) => !known.has(t.position));
  return h("section", { "aria-labelledby": "h-then-customer" },
    h("h3", { id: "h-then-customer" }, link(href("customer", id), `Customer ${id}`)),
    table(`Customer ${id} then and now`, [
      { label: "Figure", value: (r) => r[0] },
      { label: "Then", amount: true, value: (r) => r[1] },
      { label: "Now", amount: true, value: (r) => r[2] },
      { label: "Changed", value: (r) => r[3] ? h("mark", {}, "changed") : "same" },
    ], rows, (r) => ({ class: r[3] ? "diff" : null })),
    h("p", { class: "muted" }, "The statement of account takes no knownAt: compare it on the customer page."),
    since.length ? table(`Recorded since ${knownAt}`, [
      { label: "Position", value: (t) => link(href("event", t.position), t.position) },
      { label: "What", value: (t) => t.type },
      { label: "Recorded", value: (t) => instant(t.recordedAt) },
      { label: "Details", value: (t) => t.summary },
    ], since) : null);
}

function browserSection(params) {
  const after = params.get("after") || "0";
  const stream = params.get("stream") || "";
  const streamField = field("Stream (e.g. account-ACME; empty: all)", "stream", "text", stream, { spellcheck: "false" });
  const afterField = field("After position", "after", "text", after, { inputmode: "numeric" });
  const form = h("form", { class: "inline" }, streamField.row, afterField.row, h("button", { type: "submit" }, "Show events"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = href("audit", null, { stream: streamField.input.value.trim(), after: afterField.input.value.trim() });
  });
  const out = h("div", {}, loading());
  gql(EVENTS, { after, stream: stream || null, first: PAGE }).then(({ events }) => {
    out.replaceChildren(
      table(`Events after position ${after}${stream ? ` in ${stream}` : ""}`, [
        { label: "Position", value: (e) => link(href("event", e.position), e.position, { "aria-label": `Event ${e.position}` }) },
        { label: "Recorded", value: (e) => instant(e.recordedAt) },
        { label: "Stream", value: (e) => e.stream },
        { label: "Type", value: (e) => e.type },
        { label: "Actor", value: (e) => e.actor },
        { label: "Hash", value: (e) => h("code", { class: "hash", title: e.hash }, `${e.hash.slice(0, 12)}…`) },
      ], events.nodes),
      events.pageInfo.hasNextPage
        ? link(href("audit", null, { stream, after: events.pageInfo.endCursor && events.nodes.length ? events.nodes[events.nodes.length - 1].position : after }), "Next events")
        : h("p", { class: "muted" }, "End of the log."));
  }).catch((err) => out.replaceChildren(errorBox(err.message)));
  return h("section", { "aria-labelledby": "h-events" },
    h("h2", { id: "h-events" }, "Event browser"), form, out);
}

/** #/event/POS: one envelope, its payload and its hashes, and a way back to just before it. */
export async function eventPage(position) {
  show(`Event ${position}`, loading());
  if (!may("auditor")) return show(`Event ${position}`, errorBox("Raw events need the auditor role or higher."));
  let before;
  try {
    before = (BigInt(position) - 2n).toString();
  } catch {
    return show(`Event ${position}`, errorBox(`“${position}” is not a log position.`));
  }
  const wanted = BigInt(position) >= 2n ? before : "0";
  const { events } = await gql(EVENT, { after: wanted });
  const e = events.nodes.find((x) => x.position === position);
  if (!e) return show(`Event ${position}`, errorBox(`There is no event at position ${position}.`));
  const previous = events.nodes.find((x) => BigInt(x.position) === BigInt(position) - 1n);
  const customer = e.stream.startsWith("account-") ? e.stream.slice("account-".length) : null;
  show(`Event ${position}: ${e.type}`,
    h("dl", { class: "facts" },
      [["Position", e.position], ["Stream", e.stream], ["Version", e.version], ["Event id", e.eventId], ["Type", e.type],
        ["Schema", e.schema], ["Occurred at", e.occurredAt], ["Recorded at", e.recordedAt], ["Actor", e.actor],
        ["Policy version", e.policyVersion ?? "—"], ["Previous hash", h("code", { class: "hash" }, e.prevHash)], ["Hash", h("code", { class: "hash" }, e.hash)]]
        .map(([t, v]) => [h("dt", {}, t), h("dd", {}, v)])),
    h("h2", {}, "Payload"),
    h("pre", { class: "payload", tabindex: "0" }, JSON.stringify(e.payload, null, 2)),
    h("p", {},
      previous ? link(href("audit", null, { knownAt: previous.recordedAt, customer }), "Time travel to just before this event") : null,
      customer ? [" · ", link(href("customer", customer), `Customer ${customer}`)] : null));
}
