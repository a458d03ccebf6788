// Worklist for a date: filters by step, channel and sales rep; for collectors, the actions in
// place (reminder, call, promise, sales rep) — each one mutation with its own idempotency key.

import { all, gql, may } from "./api.js";
import { addDays, money } from "./format.js";
import { action, field, h, href, link, loading, show, table } from "./ui.js";

const WORKLIST = `query Worklist($date: Date, $first: Int, $after: String) {
  worklist(date: $date, first: $first, after: $after) {
    nodes { customerId name invoiceId step channel triggerOn openAmount currency daysPastDue salesRep skippedSteps }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** Rows drawn at once; "Show more" adds as many again. */
const ROWS_SHOWN = 100;

/** Outcomes offered for a call; the ledger stores the text as given. */
export const CALL_OUTCOMES = [
  ["reached", "Reached: will pay"],
  ["promised", "Reached: promised a date"],
  ["disputes", "Reached: disputes the invoice"],
  ["no_answer", "No answer"],
  ["voicemail", "Left a voicemail"],
  ["wrong_number", "Wrong number"],
];

/** A promise id nobody else will pick: the date it was taken and random hex. */
function promiseId(today) {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return `PR-${today.replaceAll("-", "")}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function worklistPage(_arg, params) {
  show("Worklist", loading());
  const { aging } = await gql("{ aging(first: 1) { asOf } }");
  const today = aging.asOf;
  const date = params.get("date") || today;
  const items = await all(WORKLIST, { date }, (d) => d.worklist);
  const options = (key) => ["", ...[...new Set(items.map((i) => i[key] || ""))].filter(Boolean).sort()];
  const chosen = { step: params.get("step") || "", channel: params.get("channel") || "", salesRep: params.get("rep") || "" };

  const dateField = field("Date", "date", "date", date, { required: true });
  const dateForm = h("form", { class: "inline" }, dateField.row, h("button", { type: "submit" }, "Show"));
  dateForm.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = href("worklist", null, { date: dateField.input.value, step: chosen.step, channel: chosen.channel, rep: chosen.salesRep });
  });
  const filters = [
    ["Step", "step"], ["Channel", "channel"], ["Sales rep", "salesRep"],
  ].map(([label, key]) => {
    const f = field(label, key, options(key).map((o) => [o, o || "All"]), chosen[key]);
    f.input.addEventListener("change", () => {
      chosen[key] = f.input.value;
      // The filters live in the address (a list can be shared) without reloading the page.
      history.replaceState(null, "", href("worklist", null, { date, step: chosen.step, channel: chosen.channel, rep: chosen.salesRep }));
      limit = ROWS_SHOWN;
      render();
    });
    return f.row;
  });
  const count = h("p", { class: "muted", role: "status" });
  const holder = h("div");
  const reload = () => worklistPage(null, new URLSearchParams(location.hash.split("?")[1] || ""));

  let limit = ROWS_SHOWN;
  const render = () => {
    const shown = items.filter((i) => (!chosen.step || i.step === chosen.step)
      && (!chosen.channel || i.channel === chosen.channel)
      && (!chosen.salesRep || i.salesRep === chosen.salesRep));
    const columns = [
      { label: "Customer", value: (i) => link(href("customer", i.customerId), i.name) },
      { label: "Invoice", nowrap: true, value: (i) => i.invoiceId },
      { label: "Step", value: (i) => [i.step, i.skippedSteps ? h("span", { class: "muted small" }, ` (${i.skippedSteps} skipped)`) : null] },
      { label: "Channel", value: (i) => i.channel },
      { label: "Due since", nowrap: true, value: (i) => i.triggerOn },
      { label: "Days past due", amount: true, value: (i) => i.daysPastDue },
      { label: "Open amount", amount: true, value: (i) => money(i.openAmount, i.currency) },
      { label: "Sales rep", value: (i) => i.salesRep || "—" },
    ];
    if (may("collector")) columns.push({ label: "Actions", nowrap: true, value: (i) => actions(i, today, reload) });
    // A thousand rows with their buttons make a slow page and an unusable one: show a page of
    // them, and more on request.
    const visible = shown.slice(0, limit);
    const more = shown.length > limit
      ? h("button", { type: "button", class: "secondary", onclick: () => { limit += ROWS_SHOWN; render(); } },
        `Show ${Math.min(ROWS_SHOWN, shown.length - limit)} more`)
      : null;
    count.textContent = `${shown.length} of ${items.length} items due on ${date}${shown.length > visible.length ? `; the first ${visible.length} shown` : ""}.`;
    holder.replaceChildren(table(`Worklist for ${date}`, columns, visible), more || "");
  };
  render();
  show(`Worklist for ${date}`,
    h("div", { class: "filters" }, dateForm, ...filters),
    count, holder);
}

function actions(item, today, reload) {
  const who = `${item.name} ${item.invoiceId}`;
  const base = { customerId: item.customerId, invoiceIds: [item.invoiceId], step: item.step };
  const buttons = [];
  if (["email", "letter", "sms"].includes(item.channel)) {
    buttons.push(action({
      label: "Record reminder", accessibleName: `Record reminder: ${who}`, title: `Reminder sent to ${item.name} (${item.invoiceId}, ${item.step})`,
      mutation: "recordReminder", inputType: "RecordReminderInput",
      fields: () => [field("Channel", "channel", ["email", "letter", "sms"], item.channel), field("Template (optional)", "template")],
      input: (v) => ({ ...base, channel: v.channel, template: v.template || null }),
      done: reload,
    }));
  }
  buttons.push(action({
    label: "Log call", accessibleName: `Log call: ${who}`, title: `Call with ${item.name} (${item.invoiceId}, ${item.step})`,
    mutation: "logCall", inputType: "LogCallInput",
    fields: () => [field("Outcome", "outcome", CALL_OUTCOMES, "reached"), field("Notes", "notes", "textarea")],
    input: (v) => ({ ...base, outcome: v.outcome, notes: v.notes || null }),
    done: reload,
  }));
  // The promise's id is made once per opened form, like the idempotency key: a retry sends both again.
  let promise = null;
  buttons.push(action({
    label: "Take promise", accessibleName: `Take promise: ${who}`, title: `Promise to pay from ${item.name} (${item.invoiceId})`,
    mutation: "recordPromise", inputType: "RecordPromiseInput",
    fields: () => (promise = promiseId(today)) && [
      field(`Amount (${item.currency})`, "amount", "text", item.openAmount, { inputmode: "decimal", required: true }),
      field("Promised on", "promisedOn", "date", addDays(today, 7), { required: true }),
      field("Made by", "via", ["phone", "email", "letter", "in_person"], "phone"),
    ],
    input: (v) => ({ customerId: item.customerId, invoiceIds: [item.invoiceId], promiseId: promise, amount: v.amount.trim(), promisedOn: v.promisedOn, via: v.via }),
    done: reload,
  }));
  buttons.push(action({
    label: "Notify sales rep", accessibleName: `Notify sales rep: ${who}`, title: `Tell the sales rep about ${item.name} (${item.invoiceId})`,
    mutation: "notifySalesRep", inputType: "NotifySalesRepInput",
    fields: () => [field("Sales rep", "salesRep", "text", item.salesRep || "")],
    input: (v) => ({ ...base, salesRep: v.salesRep || null }),
    done: reload,
  }));
  return h("div", { class: "actions" }, buttons);
}
