// Amounts, dates and instants as people read them. Amounts arrive as decimal strings and are
// formatted from the string (Intl.NumberFormat keeps every digit of a string), never via a float.

const formatters = new Map();

function formatter(currency) {
  let f = formatters.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat(undefined, { style: "currency", currency, currencyDisplay: "code" });
    } catch {
      f = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2 });
    }
    formatters.set(currency, f);
  }
  return f;
}

/** "EUR 1,234.50" (in the browser's locale) from "1234.5" and "EUR". */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  return formatter(currency).format(String(amount));
}

/** Compares two decimal strings exactly (no floats): -1, 0 or 1. */
export function compareDecimal(a, b) {
  const [ai, af = ""] = String(a).replace(/^-/, "").split(".");
  const [bi, bf = ""] = String(b).replace(/^-/, "").split(".");
  const an = String(a).startsWith("-") && !/^-?0*\.?0*$/.test(a);
  const bn = String(b).startsWith("-") && !/^-?0*\.?0*$/.test(b);
  if (an !== bn) return an ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const x = BigInt((ai || "0") + af.padEnd(width, "0"));
  const y = BigInt((bi || "0") + bf.padEnd(width, "0"));
  const c = x === y ? 0 : x < y ? -1 : 1;
  return an ? -c : c;
}

export function isZero(amount) {
  return compareDecimal(amount, "0") === 0;
}

/** A share of a decimal string in a total, for drawing only (never shown as an amount). */
export function share(part, total) {
  const t = Number(total);
  return t > 0 ? Math.max(0, Number(part) / t) : 0;
}

/** "2026-12-06" as it is: business dates are shown as ISO dates, unambiguous everywhere. */
export function date(d) {
  return d || "—";
}

/** An RFC 3339 instant shortened for a table (UTC, to the second); the full text in `title`. */
export function instant(t) {
  if (!t) return "—";
  return t.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC");
}

/** Days added to an ISO date (UTC arithmetic: no time zone can shift it). */
export function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The last day of each of the `count` months before the month of `iso`, oldest first, then `iso`. */
export function monthEnds(iso, count) {
  const [y, m] = iso.split("-").map(Number);
  const out = [];
  for (let back = count; back >= 1; back -= 1) {
    // Day 0 of month (m - back + 1) is the last day of month (m - back).
    const d = new Date(Date.UTC(y, m - back, 0));
    out.push(d.toISOString().slice(0, 10));
  }
  out.push(iso);
  return out;
}

export function percent(value) {
  if (value === null || value === undefined) return "—";
  return `${Number(value).toFixed(1)} %`;
}

export function days(value) {
  if (value === null || value === undefined) return "—";
  return `${Number(value).toFixed(1)} days`;
}
