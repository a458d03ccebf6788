// The lists behind the overview's figures: the accounts in an aging bucket, the accounts with an
// exposure status, and a customer search.

import { all, gql } from "./api.js";
import { isZero, money } from "./format.js";
import { h, href, link, loading, show, table } from "./ui.js";

const AGING_ROWS = `query AgingRows($currency: String, $first: Int, $after: String) {
  aging(currency: $currency, first: $first, after: $after) {
    asOf buckets
    rows { nodes { customerId name currency amounts unapplied total disputed oldestDaysPastDue } pageInfo { hasNextPage endCursor } }
  }
}`;

/** #/aging?currency=EUR&bucket=2: the accounts with an amount in that bucket (or all of a currency). */
export async function agingListPage(_arg, params) {
  const currency = params.get("currency") || null;
  const bucket = params.has("bucket") ? Number(params.get("bucket")) : null;
  show("Aging", loading());
  let buckets = [];
  let asOf = "";
  const rows = await all(AGING_ROWS, { currency }, (d) => {
    buckets = d.aging.buckets;
    asOf = d.aging.asOf;
    return d.aging.rows;
  });
  const inBucket = bucket === null ? rows : rows.filter((r) => !isZero(r.amounts[bucket] ?? "0"));
  const what = bucket === null ? "all buckets" : buckets[bucket] ?? `bucket ${bucket}`;
  const title = `Aging ${currency || "all currencies"}: ${what}`;
  const columns = [
    { label: "Customer", value: (r) => link(href("customer", r.customerId), r.name) },
    { label: "Id", value: (r) => r.customerId },
    ...(bucket === null ? [] : [{ label: what, amount: true, value: (r) => money(r.amounts[bucket], r.currency) }]),
    { label: "Total", amount: true, value: (r) => money(r.total, r.currency) },
    { label: "Disputed", amount: true, value: (r) => money(r.disputed, r.currency) },
    { label: "Oldest days past due", amount: true, value: (r) => r.oldestDaysPastDue ?? "—" },
  ];
  show(title,
    h("p", { class: "muted" }, `As of ${asOf}: ${inBucket.length} accounts. `, link("#/overview", "Back to the overview")),
    table(`${title}, ${inBucket.length} accounts`, columns, inBucket));
}

const BY_STATUS = `query ByStatus($status: ExposureStatus, $first: Int, $after: String) {
  exposures(status: $status, first: $first, after: $after) {
    nodes { customerId currency exposure effectiveLimit available status } pageInfo { hasNextPage endCursor }
  }
}`;
const SEARCH = `query Search($search: String, $first: Int, $after: String) {
  accounts(search: $search, first: $first, after: $after) {
    nodes { customerId name currency salesRep exposure { exposure effectiveLimit status } } pageInfo { hasNextPage endCursor }
  }
}`;

/** #/accounts?status=HELD or #/accounts?search=acme */
export async function accountsPage(_arg, params) {
  show("Accounts", loading());
  const status = params.get("status");
  if (status) {
    const rows = await all(BY_STATUS, { status }, (d) => d.exposures);
    const title = `Accounts ${status.replace("_", " ")}`;
    return show(title, table(`${title}, ${rows.length} accounts`, [
      { label: "Customer", value: (r) => link(href("customer", r.customerId), r.customerId) },
      { label: "Exposure", amount: true, value: (r) => money(r.exposure, r.currency) },
      { label: "Effective limit", amount: true, value: (r) => money(r.effectiveLimit, r.currency) },
      { label: "Available", amount: true, value: (r) => money(r.available, r.currency) },
    ], rows));
  }
  const search = params.get("search") || "";
  const data = await gql(SEARCH, { search: search || null, first: 100, after: null });
  const rows = data.accounts.nodes;
  const title = search ? `Customers matching “${search}”` : "Customers";
  show(title, table(`${title}${data.accounts.pageInfo.hasNextPage ? " (first 100)" : ""}`, [
    { label: "Customer", value: (r) => link(href("customer", r.customerId), r.name) },
    { label: "Id", value: (r) => r.customerId },
    { label: "Status", value: (r) => r.exposure.status.replace("_", " ") },
    { label: "Exposure", amount: true, value: (r) => money(r.exposure.exposure, r.currency) },
    { label: "Effective limit", amount: true, value: (r) => money(r.exposure.effectiveLimit, r.currency) },
    { label: "Sales rep", value: (r) => r.salesRep || "—" },
  ], rows));
}
