// The console's only way to the server: Pinecone's API on the same origin, called as the SDK calls it.
//
// Every call carries the user's key in `Api-Key` and the API version of SDK 10.x (2026-07), so the
// server answers exactly what the SDK would get (the schema/deployment index model on the control
// plane; the data plane is the same in every version). Nothing here bypasses auth: a call the key may
// not make fails with the API's own status and message, which the pages show as they are.

export const API_VERSION = "2026-07";
const KEY_STORAGE = "spruce-console-api-key";

/** An answer other than 2xx (or no answer at all: status 0), with the message the API gave. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

let unauthorized = () => {};

/** Called with the API's message whenever the server answers 401 (the console asks for a key then). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? "";
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** The message of an error body, looked up as SDK 10.x does: `error.message`, then `message` (the data
 * plane's rpcStatus), `detail`, `description`, then the raw text, then the status line. */
export function messageOf(status, statusText, text) {
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") {
      if (body.error && typeof body.error === "object" && body.error.message) return String(body.error.message);
      if (typeof body.error === "string" && body.error) return body.error;
      for (const key of ["message", "detail", "description"]) {
        if (body[key]) return String(body[key]);
      }
    }
  } catch {
    // not JSON: the text itself is the message
  }
  const plain = (text ?? "").trim();
  if (plain) return plain.slice(0, 500);
  return `${status} ${statusText || "error"}`.trim();
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(name, String(v)));
    else params.append(name, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * One API call. `path` is absolute on this origin (`/indexes`, `/index/<name>/query`); `query` becomes the
 * query string (arrays repeat the key, as `ids=a&ids=b`); `body` is sent as JSON. Resolves to the parsed
 * JSON body (`{}` for an empty one), rejects with an ApiError carrying the API's message.
 */
export async function api(method, path, { query, body } = {}) {
  const headers = { "X-Pinecone-Api-Version": API_VERSION };
  const key = getKey();
  if (key) headers["Api-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(withQuery(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, `The server did not answer (${err.message}).`);
  }
  const text = await response.text();
  if (!response.ok) {
    const message = messageOf(response.status, response.statusText, text);
    if (response.status === 401) unauthorized(message);
    throw new ApiError(response.status, message);
  }
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(
      response.status,
      `The server answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
}

/** `/health` or `/ready` (no key: a probe has none). Resolves to `{ok, text}`, never rejects. */
export async function probe(which) {
  try {
    const response = await fetch(`/${which}`, { cache: "no-store" });
    const text = await response.text();
    let body = {};
    try {
      body = JSON.parse(text);
    } catch {
      body = { status: text.trim() };
    }
    const reason = body.reason ? `: ${body.reason}` : "";
    return { ok: response.ok, text: `${body.status ?? response.status}${reason}` };
  } catch {
    return { ok: false, text: "unreachable" };
  }
}

// ------------------------------------------------------------------ paths and shapes

/** The data-plane base of an index on this origin: every index is served at `/index/<name>` on the main
 * port (its own port, the `host` of describe_index, is another origin, which the page may not call). */
export function dp(index) {
  return `/index/${encodeURIComponent(index)}`;
}

/** The wire's namespace for a data-plane call: the namespaces API names the default one `__default__`,
 * the records API `""`. */
export function wireNamespace(ns) {
  return ns === "__default__" ? "" : (ns ?? "");
}

/** A namespace's record count in a describe_index_stats answer; the default namespace may be keyed `""`
 * or `__default__` (the SDK accepts both), so both are looked up. */
export function statsCount(stats, ns) {
  const namespaces = stats?.namespaces ?? {};
  const key = wireNamespace(ns);
  const entry = namespaces[key] ?? (key === "" ? namespaces.__default__ : undefined);
  return entry?.vectorCount ?? 0;
}

/** What a 2026-07 index model describes: `{kind: "dense"|"sparse"|"documents", dimension, metric}`. The
 * reserved fields `_values` / `_sparse_values` mark a vectors-API index; anything else is a document
 * index (classic models, should a server send one, carry the fields directly). */
export function indexKind(model) {
  const fields = model?.schema?.fields;
  if (!fields) {
    return { kind: model?.vector_type ?? "dense", dimension: model?.dimension ?? null, metric: model?.metric ?? "" };
  }
  const names = Object.keys(fields);
  if (fields._values && names.every((n) => n === "_values" || n === "_sparse_values")) {
    return { kind: "dense", dimension: fields._values.dimension ?? null, metric: fields._values.metric ?? "" };
  }
  if (fields._sparse_values && names.length === 1) {
    return { kind: "sparse", dimension: null, metric: "dotproduct" };
  }
  const dense = names.map((n) => fields[n]).find((f) => f?.type === "dense_vector");
  return { kind: "documents", dimension: dense?.dimension ?? null, metric: dense?.metric ?? "" };
}

/** Every page of a paginated list, walked through `pagination.next`. `fetchPage(token)` returns a
 * response; `items(response)` its items; `progress(countSoFar)` is told after each page. */
export async function allPages(fetchPage, items, progress = () => {}) {
  const out = [];
  const seen = new Set(); // (a token seen before would loop forever: stop instead)
  let token;
  for (;;) {
    const page = await fetchPage(token);
    out.push(...items(page));
    progress(out.length);
    token = page.pagination?.next;
    if (!token || seen.has(token)) return out;
    seen.add(token);
  }
}

/** Every namespace of an index (the namespaces API, all pages). */
export function listNamespaces(index) {
  return allPages(
    (token) => api("GET", `${dp(index)}/namespaces`, { query: { limit: 100, paginationToken: token } }),
    (page) => page.namespaces ?? [],
  );
}
