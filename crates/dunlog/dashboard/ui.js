// Small DOM helpers: elements built with text nodes (never innerHTML with data), tables with
// right-aligned amounts, and the action form every mutation goes through.

import { gql, idempotencyKey } from "./api.js";

/** h("a", {href: "#/x"}, "text", child) — attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  return make(false, tag, attrs, children);
}

/** The same for SVG: every element in the SVG namespace (an `a` in a chart is an SVG link). */
export function s(tag, attrs = {}, ...children) {
  return make(true, tag, attrs, children);
}

function make(svg, tag, attrs, children) {
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k in el && !svg && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the page's content and moves focus to its heading (for keyboard and screen readers). */
export function show(title, ...children) {
  const main = document.getElementById("main");
  const heading = h("h1", { tabindex: "-1" }, title);
  main.replaceChildren(heading, ...children.flat(Infinity).filter(Boolean));
  document.title = `${title} — dunlog`;
  heading.focus({ preventScroll: true });
}

export function announce(text) {
  document.getElementById("live").textContent = text;
}

export function loading() {
  return h("p", { class: "muted", role: "status" }, "Loading…");
}

/** An error where the thing that failed was: the server's own message, announced. */
export function errorBox(message) {
  return h("p", { class: "error", role: "alert" }, message);
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

/**
 * A table: `columns` is [{ label, value(row) → node|text, amount?: bool, nowrap?: bool }]; amounts are
 * right-aligned. `caption` names it for assistive technology.
 */
export function table(caption, columns, rows, rowAttrs = () => ({})) {
  return h("div", { class: "scroll" },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) =>
        h("th", { scope: "col", class: c.amount ? "num" : null }, c.label)))),
      h("tbody", {}, rows.length
        ? rows.map((r) => h("tr", rowAttrs(r), columns.map((c, i) => {
          const cell = i === 0 && c.header !== false ? "th" : "td";
          const cls = [c.amount ? "num" : null, c.nowrap ? "nowrap" : null].filter(Boolean).join(" ") || null;
          return h(cell, { scope: cell === "th" ? "row" : null, class: cls }, c.value(r));
        })))
        : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "Nothing to show.")))));
}

let fieldCount = 0;

/**
 * A labelled form control. `kind`: "text", "date", "number", "textarea", or an array of options
 * (a select). Returns { row, input }.
 */
export function field(label, name, kind = "text", value = "", extra = {}) {
  fieldCount += 1;
  const id = `f${fieldCount}-${name}`;
  let input;
  if (Array.isArray(kind)) {
    input = h("select", { id, name, ...extra }, kind.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value ? true : null }, text);
    }));
  } else if (kind === "textarea") {
    input = h("textarea", { id, name, rows: 3, ...extra });
    input.value = value;
  } else {
    input = h("input", { id, name, type: kind, ...extra });
    input.value = value;
  }
  return { row: h("div", { class: "field" }, h("label", { for: id }, label), input), input };
}

/**
 * An action in place: a button that opens a form; the form sends one mutation with an
 * idempotency key made when the form opened (so a double click, or a retry after a lost answer,
 * records once). Errors appear beside the submit button, in the server's words.
 *
 * spec: { label, title, fields: () => [{ row, input }...], mutation, input(values) → object,
 *         done(result) }
 */
export function action(spec) {
  const button = h("button", { type: "button", class: "action", "aria-label": spec.accessibleName || spec.label }, spec.label);
  button.addEventListener("click", () => openAction(spec, button));
  return button;
}

function openAction(spec, opener) {
  const key = idempotencyKey();
  const fields = spec.fields();
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, spec.submitLabel || "Save");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h("form", { method: "dialog" },
    fields.map((f) => f.row),
    h("div", { class: "buttons" }, submit, cancel, error));
  const heading = h("h2", { id: `dlg-${key}` }, spec.title);
  const dialog = h("dialog", { "aria-labelledby": `dlg-${key}` }, heading, form);
  document.body.append(dialog);
  const close = () => {
    dialog.close();
    dialog.remove();
    opener.focus();
  };
  cancel.addEventListener("click", close);
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    close();
  });
  let sending = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (sending) return;
    sending = true;
    submit.disabled = true;
    error.hidden = true;
    const values = Object.fromEntries(fields.map((f) => [f.input.name, f.input.value]));
    try {
      const input = { ...spec.input(values), idempotencyKey: key };
      const data = await gql(
        `mutation($input: ${spec.inputType}!) { ${spec.mutation}(input: $input) { events { position type } } }`,
        { input },
      );
      close();
      announce(`${spec.title}: recorded at position ${data[spec.mutation].events.map((x) => x.position).join(", ") || "(already recorded)"}.`);
      if (spec.done) spec.done(data[spec.mutation]);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      submit.disabled = false;
      sending = false;
    }
  });
  dialog.showModal();
  const first = fields.length ? fields[0].input : submit;
  first.focus();
}

/** Today's date as the server sees it is passed around; this is only a fallback. */
export function todayUtc() {
  return new Date().toISOString().slice(0, 10);
}

/** Reads "#/page/arg?x=1" into { page, arg, params }. */
export function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  const [page, ...rest] = path.split("/");
  return { page: page || "overview", arg: rest.map(decodeURIComponent).join("/"), params: new URLSearchParams(query) };
}

export function href(page, arg, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== "")).toString() : "";
  return `#/${page}${arg ? `/${encodeURIComponent(arg)}` : ""}${q ? `?${q}` : ""}`;
}

/** Pages listening to the live event stream (the overview); cleared when the page changes. */
export const listeners = new Set();
export function onLedgerEvent(fn) {
  listeners.add(fn);
}
