// The dashboard's entry: sign in, the page router (hash routes), and the header.

import { ApiError, followEvents, role, signIn, signOut, token } from "./api.js";
import { announce, errorBox, field, h, listeners, route, show } from "./ui.js";
import { overviewPage } from "./overview.js";
import { agingListPage, accountsPage } from "./lists.js";
import { worklistPage } from "./worklist.js";
import { customerPage } from "./customer.js";
import { auditPage, eventPage } from "./audit.js";
import { whatifPage } from "./whatif.js";

const PAGES = {
  overview: overviewPage,
  aging: agingListPage,
  accounts: accountsPage,
  worklist: worklistPage,
  customer: customerPage,
  audit: auditPage,
  event: eventPage,
  whatif: whatifPage,
};


let stopFollowing = null;
/** Without the subscription (a viewer may not follow raw events), the overview polls instead. */
const POLL_MS = 30000;

function signInPage(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("search").hidden = true;
  document.getElementById("who").hidden = true;
  const secret = field("API token", "token", "password", "", { autocomplete: "off", required: true, spellcheck: "false" });
  const error = message ? errorBox(message) : h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "signin" },
    h("p", {}, "Paste a token made with ", h("code", {}, "dunlog token create"), " (", h("code", {}, "serve --demo"),
      " prints an admin token). It is kept for this browser tab only."),
    secret.row, h("div", { class: "buttons" }, submit), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      await signIn(secret.input.value.trim());
      if (!location.hash || location.hash === "#/signin") location.hash = "#/overview";
      start();
    } catch (err) {
      error.textContent = err.code === "UNAUTHENTICATED"
        ? "This token was not accepted: it is unknown, mistyped or revoked. Ask an administrator for a valid token."
        : `Cannot sign in: ${err.message}`;
      error.hidden = false;
      submit.disabled = false;
      secret.input.focus();
    }
  });
  show("Sign in", form);
  secret.input.focus();
}

function header() {
  document.getElementById("nav").hidden = false;
  document.getElementById("search").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-role").textContent = `Signed in · ${role()}`;
  const current = route().page;
  for (const a of document.querySelectorAll("#nav a")) {
    const page = a.getAttribute("href").slice(2);
    if (page === current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function render() {
  if (!token()) return signInPage();
  header();
  const { page, arg, params } = route();
  const view = PAGES[page];
  if (!view) return show("Not found", errorBox(`There is no page “${page}”.`));
  const main = document.getElementById("main");
  main.removeAttribute("data-loaded-ms");
  const started = performance.now();
  try {
    await view(arg, params);
    // How long the page took from the route to drawn data (docs/dashboard.md, "Speed").
    main.setAttribute("data-loaded-ms", String(Math.round(performance.now() - started)));
  } catch (err) {
    if (err instanceof ApiError && err.code === "UNAUTHENTICATED") {
      signOut();
      return signInPage("The server no longer accepts this token (revoked?). Sign in again.");
    }
    show("Something went wrong", errorBox(err.message));
  }
}

function start() {
  if (stopFollowing) stopFollowing();
  let poll = null;
  const stop = followEvents(
    (event) => listeners.forEach((fn) => fn(event)),
    (state) => {
      document.body.setAttribute("data-live", state);
      if (state === "refused" && !poll) {
        poll = setInterval(() => listeners.forEach((fn) => fn({ position: "(polled)" })), POLL_MS);
      }
    },
  );
  stopFollowing = () => {
    stop();
    clearInterval(poll);
  };
  render();
}

document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  if (stopFollowing) stopFollowing();
  stopFollowing = null;
  location.hash = "#/signin";
  signInPage();
  announce("Signed out.");
});
document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("search-input").value.trim();
  location.hash = `#/accounts?search=${encodeURIComponent(q)}`;
});
document.getElementById("skip-link").addEventListener("click", (e) => {
  e.preventDefault();
  document.getElementById("main").focus();
});
window.addEventListener("hashchange", () => {
  listeners.clear();
  render();
});

if (token()) start();
else signInPage();
