// What-if: choose an adopted policy or paste one, and see per account what would differ
// (holds, broken promises, late fees, worklist items) — nothing is appended.

import { gql, may } from "./api.js";
import { errorBox, field, h, href, link, loading, show, table } from "./ui.js";

/**
 * The `whatif` query's result type, read from the schema at run time: the dashboard asks for
 * every scalar field (and lists of objects one level down) so it shows whatever the comparison
 * reports without being rebuilt when a field is added.
 */
const WHATIF_FIELD = `{ __schema { queryType { fields { name args { name } type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;
const TYPE = `query T($name: String!) { __type(name: $name) { fields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }`;

function named(t) {
  let x = t;
  while (x && !x.name) x = x.ofType;
  return x;
}
function isList(t) {
  let x = t;
  while (x) {
    if (x.kind === "LIST") return true;
    x = x.ofType;
  }
  return false;
}

async function selection(typeName, depth) {
  const { __type: t } = await gql(TYPE, { name: typeName });
  if (!t || !t.fields) return "";
  const parts = [];
  for (const f of t.fields) {
    const n = named(f.type);
    if (n.kind === "SCALAR" || n.kind === "ENUM") parts.push(f.name);
    else if (n.kind === "OBJECT" && depth > 0) {
      const inner = await selection(n.name, depth - 1);
      if (inner) parts.push(`${f.name} ${inner}`);
    }
  }
  return parts.length ? `{ ${parts.join(" ")} }` : "";
}

export async function whatifPage() {
  show("What-if", loading());
  if (!may("auditor")) return show("What-if", errorBox("What-if needs the auditor role or higher."));
  const [{ policies }, { aging }] = await Promise.all([gql("{ policies { version name document inForce } }"), gql("{ aging(first: 1) { asOf } }")]);
  const choose = field("Start from an adopted policy", "policy", [["", "—"], ...policies.map((p) => [String(p.version), `v${p.version} ${p.name}${p.inForce ? " (in force)" : ""}`])], "");
  const doc = field("Policy (TOML)", "document", "textarea", "", { rows: 14, spellcheck: "false", required: true });
  const asOf = field("As of", "asOf", "date", aging.asOf, { required: true });
  choose.input.addEventListener("change", () => {
    const p = policies.find((x) => String(x.version) === choose.input.value);
    if (p) doc.input.value = p.document;
  });
  const out = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Compare with what happened");
  const form = h("form", {}, choose.row, doc.row, asOf.row, h("div", { class: "buttons" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    out.replaceChildren(loading());
    try {
      out.replaceChildren(...await compare(doc.input.value, asOf.input.value));
    } catch (err) {
      out.replaceChildren(errorBox(err.message));
    }
    submit.disabled = false;
  });
  show("What-if", h("p", {}, "Replays the history through the clock under another policy, in memory, and lists per account what would differ. Nothing is recorded."), form, out);
}

async function compare(document, asOf) {
  let field;
  try {
    const { __schema } = await gql(WHATIF_FIELD);
    field = __schema.queryType.fields.find((f) => f.name === "whatif");
  } catch (err) {
    return [errorBox(`What-if is not available here: the schema cannot be read (${err.message}). Use \`dunlog whatif --policy FILE\`.`)];
  }
  if (!field) {
    return [errorBox("What-if is not available on this server yet (its GraphQL API has no whatif query). Use `dunlog whatif --policy FILE` meanwhile.")];
  }
  const type = named(field.type);
  const sel = type.kind === "OBJECT" ? await selection(type.name, 3) : "";
  const { whatif } = await gql(`query W($doc: String!, $asOf: Date) { whatif(policyDocument: $doc, asOf: $asOf) ${sel} }`, { doc: document, asOf });
  return render(whatif);
}

/** Nested objects as dotted keys: { totals: { holdsWould: 1 } } → { "totals.holdsWould": 1 }. */
function flatten(value, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

/** "holdsWould" → "holds would", "totals.lateFeesRecorded" → "totals: late fees recorded". */
function words(key) {
  return key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(".", ": ").toLowerCase();
}

function text(v) {
  if (v === null || v === undefined) return "—";
  return Array.isArray(v) ? v.join("; ") || "—" : String(v);
}

/** "holdsWould" differs from "holdsRecorded": what the other policy changes, marked. */
function differs(row, key) {
  if (!key.endsWith("Would")) return false;
  const recorded = `${key.slice(0, -"Would".length)}Recorded`;
  return recorded in row && text(row[recorded]) !== text(row[key]);
}

/** Objects as definition lists, lists of objects as tables, differing pairs marked. */
function render(value) {
  if (value === null || typeof value !== "object") return [h("p", {}, String(value))];
  const entries = Object.entries(value);
  const scalars = entries.filter(([, v]) => v === null || typeof v !== "object" || (Array.isArray(v) && (!v.length || typeof v[0] !== "object")));
  const lists = entries.filter(([, v]) => Array.isArray(v) && v.length && typeof v[0] === "object");
  const objects = entries.filter(([, v]) => v && typeof v === "object" && !Array.isArray(v));
  const empty = entries.filter(([, v]) => Array.isArray(v) && !v.length).map(([k]) => k);
  return [
    h("dl", { class: "facts" }, scalars.filter(([k]) => !empty.includes(k)).map(([k, v]) => [h("dt", {}, words(k)), h("dd", {}, text(v))])),
    ...empty.map((k) => h("p", { class: "muted" }, `${words(k)}: none — nothing would differ.`)),
    ...objects.map(([k, v]) => h("section", {}, h("h3", {}, words(k)), ...render(v))),
    ...lists.map(([k, rows]) => {
      const flat = rows.map((r) => flatten(r));
      const keys = Object.keys(flat[0]);
      return table(`${words(k)} (${rows.length})`, keys.map((key) => ({
        label: words(key),
        amount: typeof flat[0][key] === "number" || /^-?\d+(\.\d+)?$/.test(String(flat[0][key])),
        value: (r) => key === "customerId" && r[key] !== "TOTAL"
          ? link(href("customer", r[key]), r[key])
          : differs(r, key) ? h("mark", {}, text(r[key])) : text(r[key]),
      })), flat);
    }),
  ];
}
