// Customer: status, exposure against the effective limit, holds and cash-only with reasons, open
// invoices, the statement of account (printable), the contact timeline, promises and plans,
// and for admins: hold, release, credit limit.

import { gql, may } from "./api.js";
import { addDays, instant, isZero, money, percent } from "./format.js";
import { action, errorBox, field, h, href, link, loading, s, show, table } from "./ui.js";

const CUSTOMER = `query Customer($id: ID!) {
  account(id: $id) {
    customerId name currency creditLimit openedOn salesRep
    terms { netDays discountPercent discountDays }
    contacts { emails phones billingContact }
    invoices { invoiceId amount issuedOn dueOn reference open disputed deliveredOn escalatedOn }
    promises { promiseId amount promisedOn madeOn invoiceIds via planId keptOn brokenOn shortfall }
    holds { effectiveOn held reason rule manual }
    exposure { status creditLimit effectiveLimit exposure available utilization openPromises promisesKept promisesBroken daysSinceLastContact }
  }
  timeline(customerId: $id) { type occurredAt recordedAt actor position invoiceIds summary payload }
  aging(first: 1) { asOf }
}`;

export const STATEMENT = `query Statement($customerId: ID!, $from: Date!, $to: Date!) {
  statement(customerId: $customerId, from: $from, to: $to) {
    customerId currency from to openingBalance closingBalance
    lines { date kind reference invoiceId debit credit balance position }
  }
}`;

export async function customerPage(id) {
  show(`Customer ${id}`, loading());
  const data = await gql(CUSTOMER, { id });
  const a = data.account;
  if (!a) return show(`Customer ${id}`, errorBox(`There is no customer with id “${id}”.`));
  const today = data.aging.asOf;
  const e = a.exposure;
  const c = a.currency;
  const reload = () => customerPage(id);

  const latestHold = [...a.holds].reverse().find((x) => x.held);
  const cashOnly = [...data.timeline].reverse().find((t) => t.type === "CashOnlyImposed");
  const reasons = [];
  if (e.status === "HELD" && latestHold) {
    reasons.push(`On hold since ${latestHold.effectiveOn}: ${latestHold.reason || latestHold.rule || "no reason given"}${latestHold.manual ? " (manual)" : ""}.`);
  }
  if (e.status === "CASH_ONLY" || cashOnly && e.status !== "OK") {
    if (cashOnly) reasons.push(`Cash only since ${cashOnly.payload.effective_on || instant(cashOnly.occurredAt)}: ${cashOnly.payload.reason || cashOnly.summary}.`);
  }

  const summary = h("section", { "aria-labelledby": "h-status", class: "card" },
    h("h2", { id: "h-status" }, "Status"),
    h("p", { class: `status status-${e.status}` }, e.status.replace("_", " ")),
    reasons.map((r) => h("p", {}, r)),
    h("dl", { class: "facts" },
      fact("Exposure", money(e.exposure, c)),
      fact("Effective limit", money(e.effectiveLimit, c)),
      fact("Credit limit", money(e.creditLimit, c)),
      fact("Available", money(e.available, c)),
      fact("Utilization", e.utilization === null ? "—" : percent(Number(e.utilization) * 100)),
      fact("Terms", `net ${a.terms.netDays}${a.terms.discountPercent ? `, ${a.terms.discountPercent} % within ${a.terms.discountDays} days` : ""}`),
      fact("Opened", a.openedOn),
      fact("Sales rep", a.salesRep || "—"),
      fact("Billing contact", [a.contacts.billingContact, ...a.contacts.emails, ...a.contacts.phones].filter(Boolean).join(", ") || "—"),
      fact("Days since last contact", e.daysSinceLastContact ?? "—"),
      fact("Promises open / kept / broken", `${e.openPromises} / ${e.promisesKept} / ${e.promisesBroken}`)),
    utilisationBar(e),
    may("admin") ? h("div", { class: "actions" }, adminActions(a, reload)) : null);

  const open = a.invoices.filter((i) => !isZero(i.open));
  const invoices = h("section", { "aria-labelledby": "h-invoices" },
    h("h2", { id: "h-invoices" }, "Open invoices"),
    table(`Open invoices of ${a.name}`, [
      { label: "Invoice", value: (i) => i.invoiceId },
      { label: "Issued", value: (i) => i.issuedOn },
      { label: "Due", value: (i) => i.dueOn },
      { label: "Amount", amount: true, value: (i) => money(i.amount, c) },
      { label: "Open", amount: true, value: (i) => money(i.open, c) },
      { label: "Notes", value: (i) => [i.disputed ? "disputed" : null, i.deliveredOn ? `delivered ${i.deliveredOn}` : null, i.escalatedOn ? `escalated ${i.escalatedOn}` : null].filter(Boolean).join(", ") || "—" },
    ], open));

  const promises = h("section", { "aria-labelledby": "h-promises" },
    h("h2", { id: "h-promises" }, "Promises and plans"),
    table(`Promises of ${a.name}`, [
      { label: "Promise", value: (p) => p.promiseId },
      { label: "Made", value: (p) => p.madeOn },
      { label: "Promised for", value: (p) => p.promisedOn },
      { label: "Amount", amount: true, value: (p) => money(p.amount, c) },
      { label: "Invoices", value: (p) => p.invoiceIds.join(", ") || "whole account" },
      { label: "Plan", value: (p) => p.planId || "—" },
      { label: "Status", value: (p) => p.keptOn ? `kept ${p.keptOn}` : p.brokenOn ? `broken ${p.brokenOn}${p.shortfall ? `, short ${money(p.shortfall, c)}` : ""}` : "open" },
    ], [...a.promises].reverse()));

  const timeline = h("section", { "aria-labelledby": "h-timeline" },
    h("h2", { id: "h-timeline" }, "Contact timeline"),
    table(`Timeline of ${a.name}, newest first`, [
      { label: "Occurred", value: (t) => h("time", { datetime: t.occurredAt, title: t.occurredAt }, instant(t.occurredAt)) },
      { label: "Recorded", value: (t) => h("time", { datetime: t.recordedAt, title: t.recordedAt }, instant(t.recordedAt)) },
      { label: "What", value: (t) => t.type },
      { label: "Details", value: (t) => [t.summary, t.payload && t.payload.notes ? ` — “${t.payload.notes}”` : ""].join("") },
      { label: "Actor", value: (t) => t.actor },
      { label: "Position", value: (t) => may("auditor") ? link(href("event", t.position), t.position, { "aria-label": `Event ${t.position} and its hash` }) : t.position },
    ], [...data.timeline].reverse(), () => ({ class: "timeline-row" })));

  show(`${a.name} (${a.customerId})`,
    h("div", { class: "grid" }, summary, statementSection(a, today)),
    invoices, timeline, promises);
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function utilisationBar(e) {
  if (e.utilization === null) return null;
  const used = Math.min(100, Math.max(0, Number(e.utilization) * 100));
  return h("div", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": used.toFixed(0), "aria-label": "Exposure against the effective limit" },
    s("svg", { viewBox: "0 0 100 6", preserveAspectRatio: "none", width: "100%", height: 10, "aria-hidden": "true" },
      s("rect", { x: 0, y: 0, width: 100, height: 6, class: "meter-track" }),
      s("rect", { x: 0, y: 0, width: used, height: 6, class: used >= 100 ? "meter-over" : "meter-used" })));
}

function statementSection(a, today) {
  const from = field("From", "from", "date", addDays(today, -90), { required: true });
  const to = field("To", "to", "date", today, { required: true });
  const out = h("div", { class: "statement-body" });
  const form = h("form", { class: "inline no-print" }, from.row, to.row, h("button", { type: "submit" }, "Show statement"));
  const section = h("section", { "aria-labelledby": "h-statement", class: "card statement" },
    h("h2", { id: "h-statement" }, "Statement of account"), form, out);
  const load = async () => {
    out.replaceChildren(loading());
    try {
      const { statement: s } = await gql(STATEMENT, { customerId: a.customerId, from: from.input.value, to: to.input.value });
      out.replaceChildren(statementTable(a, s),
        h("button", { type: "button", class: "no-print", onclick: () => printStatement(section) }, "Print statement"));
    } catch (err) {
      out.replaceChildren(errorBox(err.code === "VALIDATION" && /statement/.test(err.message)
        ? `The statement of account is not available on this server (it has no statement query): ${err.message}`
        : `Cannot show the statement: ${err.message}`));
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  load();
  return section;
}

export function statementTable(a, s) {
  const c = s.currency;
  return h("div", {},
    h("p", {}, `${a.name} (${a.customerId}), ${s.from} to ${s.to}. Opening balance ${money(s.openingBalance, c)}; closing balance ${money(s.closingBalance, c)}.`),
    table(`Statement of account ${s.from} to ${s.to}`, [
      { label: "Date", value: (l) => l.date },
      { label: "Kind", value: (l) => l.kind.replaceAll("_", " ").toLowerCase() },
      { label: "Reference", value: (l) => l.reference || l.invoiceId || "—" },
      { label: "Debit", amount: true, value: (l) => isZero(l.debit) ? "" : money(l.debit, c) },
      { label: "Credit", amount: true, value: (l) => isZero(l.credit) ? "" : money(l.credit, c) },
      { label: "Balance", amount: true, value: (l) => money(l.balance, c) },
    ], [
      { date: s.from, kind: "OPENING_BALANCE", reference: "", debit: "0", credit: "0", balance: s.openingBalance },
      ...s.lines,
      { date: s.to, kind: "CLOSING_BALANCE", reference: "", debit: "0", credit: "0", balance: s.closingBalance },
    ]));
}

/** Prints only the statement: the page is marked so the print stylesheet hides the rest. */
function printStatement(section) {
  section.classList.add("printing");
  document.body.classList.add("print-statement");
  const done = () => {
    document.body.classList.remove("print-statement");
    section.classList.remove("printing");
    window.removeEventListener("afterprint", done);
  };
  window.addEventListener("afterprint", done);
  window.print();
}

function adminActions(a, reload) {
  const id = a.customerId;
  return [
    action({
      label: "Hold account", title: `Hold ${a.name}`, mutation: "holdAccount", inputType: "HoldAccountInput",
      fields: () => [field("Reason", "reason", "text", "", { required: true })],
      input: (v) => ({ customerId: id, reason: v.reason }), done: reload,
    }),
    action({
      label: "Release account", title: `Release ${a.name}`, mutation: "releaseAccount", inputType: "ReleaseAccountInput",
      fields: () => [field("Reason", "reason", "text", "", { required: true })],
      input: (v) => ({ customerId: id, reason: v.reason }), done: reload,
    }),
    action({
      label: "Change credit limit", title: `Credit limit of ${a.name}`, mutation: "changeCreditLimit", inputType: "ChangeCreditLimitInput",
      fields: () => [
        field(`New limit (${a.currency})`, "newLimit", "text", a.creditLimit, { inputmode: "decimal", required: true }),
        field("Reason", "reason", "text", ""),
      ],
      input: (v) => ({ customerId: id, newLimit: v.newLimit.trim(), reason: v.reason || null }), done: reload,
    }),
  ];
}
