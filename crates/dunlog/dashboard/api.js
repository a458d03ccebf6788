// The dashboard's only way to the ledger: the public GraphQL endpoint (POST /graphql) and its
// WebSocket (graphql-transport-ws on /graphql/ws), with the user's bearer token.

const TOKEN_KEY = "dunlog.token";
const ROLE_KEY = "dunlog.role";

/** The token of this browser session (sessionStorage: gone when the tab closes). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function role() {
  return sessionStorage.getItem(ROLE_KEY) || "viewer";
}

const RANK = { viewer: 0, auditor: 1, collector: 2, admin: 3 };

/** May the signed-in token do what `needed` may? (What a role may not do is not offered.) */
export function may(needed) {
  return (RANK[role()] ?? 0) >= RANK[needed];
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ROLE_KEY);
}

/** A GraphQL error as the server worded it, with its `extensions.code`. */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || "INTERNAL";
  }
}

/** Sends one operation with `secret` (default: the session's token); returns `data` or throws. */
export async function gql(query, variables = {}, secret = token()) {
  const headers = { "content-type": "application/json" };
  if (secret) headers.authorization = `Bearer ${secret}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError(`the server cannot be reached (${e.message})`, "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new ApiError(`the server answered ${response.status} without JSON`, "INTERNAL");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions && first.extensions.code);
  }
  return body.data;
}

/** Fetches every page of a connection: `pick(data)` returns the connection. */
export async function all(query, variables, pick, pageSize = 500) {
  const nodes = [];
  let after = null;
  for (;;) {
    const data = await gql(query, { ...variables, first: pageSize, after });
    const connection = pick(data);
    nodes.push(...connection.nodes);
    if (!connection.pageInfo.hasNextPage) return nodes;
    after = connection.pageInfo.endCursor;
  }
}

/**
 * Finds the role of a secret through the public API alone: a query any role may send proves the
 * token is known; then a mutation that needs `admin`, sent with an empty customer id, is refused
 * before it could append anything — with FORBIDDEN naming the caller's role, or, for an admin,
 * with VALIDATION (docs/decisions/0031).
 */
export async function signIn(secret) {
  await gql("{ accounts(first: 1) { nodes { customerId } } }", {}, secret);
  let found = "admin";
  try {
    await gql(
      'mutation { holdAccount(input: {customerId: ""}) { events { position } } }',
      {},
      secret,
    );
  } catch (e) {
    if (e.code === "FORBIDDEN") {
      const m = /role = "(\w+)"/.exec(e.message);
      found = m ? m[1] : "viewer";
    }
  }
  sessionStorage.setItem(TOKEN_KEY, secret);
  sessionStorage.setItem(ROLE_KEY, found);
  return found;
}

/** A fresh idempotency key: one per opened form, so a double click records once. */
export function idempotencyKey() {
  if (crypto.randomUUID) return `dash-${crypto.randomUUID()}`;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `dash-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Follows the `events` subscription over graphql-transport-ws and calls `onEvent(record)` for
 * each new envelope; reconnects with backoff. Returns a function that stops it.
 */
export function followEvents(onEvent, onState = () => {}) {
  let socket = null;
  let stopped = false;
  let delayMs = 1000;
  let timer = null;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/graphql/ws`, "graphql-transport-ws");
    socket.onopen = () => {
      socket.send(JSON.stringify({
        type: "connection_init",
        payload: { Authorization: `Bearer ${token()}` },
      }));
    };
    socket.onmessage = (message) => {
      let m;
      try {
        m = JSON.parse(message.data);
      } catch {
        return;
      }
      if (m.type === "connection_ack") {
        delayMs = 1000;
        onState("live");
        socket.send(JSON.stringify({
          id: "events",
          type: "subscribe",
          payload: { query: "subscription { events { position stream type recordedAt } }" },
        }));
      } else if (m.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (m.type === "next" && m.payload && m.payload.data && m.payload.data.events) {
        onEvent(m.payload.data.events);
      } else if (m.type === "error" || (m.type === "next" && m.payload && m.payload.errors)) {
        // The subscription is an auditor's (decision 0005): a viewer is refused. Stop trying;
        // the caller falls back to polling.
        stopped = true;
        onState("refused");
        socket.close();
      }
    };
    socket.onclose = () => {
      onState("offline");
      if (!stopped) {
        timer = setTimeout(connect, delayMs);
        delayMs = Math.min(delayMs * 2, 30000);
      }
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket) socket.close();
  };
}
