// Small DOM helpers. Everything the API returns (ids, metadata, messages) goes into the page as text
// nodes, never as HTML, so a record cannot inject markup into the console.

/**
 * `h("a", {href: "#/x", class: "c", onclick: fn}, "text", child)`: an element. Attributes that are
 * null/undefined/false are left out, `true` sets an empty attribute, `on<event>` adds a listener;
 * children may be strings, numbers, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "value" && "value" in el) el.value = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace every child of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: `head` is a list of column titles, `rows` a list of lists of cells (text or nodes). */
export function table(head, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        head.map((title) => h("th", { scope: "col" }, title)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          {},
          row.map((cell) => h("td", {}, cell)),
        ),
      ),
    ),
  );
}

/** A definition list of `[term, value]` pairs. */
export function facts(pairs, attrs = {}) {
  return h(
    "dl",
    { class: "facts", ...attrs },
    pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

/** A labelled form control: `field("Name", h("input", {id: "x"}), "hint")`. The control must have an id. */
export function field(label, control, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id }, label),
    control,
    hint ? h("small", { class: "hint", id: `${control.id}-hint` }, hint) : null,
  );
}

/** An error paragraph (role=alert: read out at once). `err` is an ApiError, an Error or a string. */
export function errorBox(err) {
  const status = err && typeof err === "object" && err.status ? `${err.status}: ` : "";
  const message = err && typeof err === "object" ? err.message : String(err);
  return h("p", { class: "error", role: "alert" }, status, message || "Something went wrong (no message).");
}

/** A success note. */
export function okBox(text) {
  return h("p", { class: "ok", role: "status" }, text);
}

/** `1234567` → `"1,234,567"` (fixed to en-US: the tests and the docs read the same digits). */
export function int(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? "—");
}

/** `plural(1, "entry", "entries")` → `"1 entry"`; `plural(3, ...)` → `"3 entries"`. */
export function plural(n, one, many) {
  return `${int(n)} ${n === 1 ? one : many}`;
}

/** A byte count as `12.3 MiB (12,901,234 bytes)`. */
export function bytes(n) {
  if (typeof n !== "number") return "—";
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${int(n)} bytes` : `${value.toFixed(1)} ${units[unit]} (${int(n)} bytes)`;
}

/** A compact, single-line JSON rendering of a metadata value. */
export function jsonText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The first few numbers of a vector: `[0.1000, 0.2000, … ] (384 values)`. */
export function valuesPreview(values, shown = 8) {
  if (!Array.isArray(values) || values.length === 0) return "(none)";
  const head = values.slice(0, shown).map((v) => (Number.isInteger(v) ? String(v) : v.toFixed(4)));
  const more = values.length > shown ? ", …" : "";
  return `[${head.join(", ")}${more}] (${values.length} values)`;
}

/** A sparse vector as `3: 0.5000, 17: 0.2500, … (40 non-zeros)`. */
export function sparsePreview(sparse, shown = 8) {
  if (!sparse || !Array.isArray(sparse.indices) || sparse.indices.length === 0) return "(none)";
  const pairs = sparse.indices.slice(0, shown).map((index, i) => `${index}: ${Number(sparse.values[i]).toFixed(4)}`);
  const more = sparse.indices.length > shown ? ", …" : "";
  return `${pairs.join(", ")}${more} (${sparse.indices.length} non-zeros)`;
}

/** Metadata as a two-column table (key, value), or a dash when there is none. */
export function metadataTable(metadata, attrs = {}) {
  const entries = Object.entries(metadata ?? {});
  if (entries.length === 0) return h("span", { class: "muted" }, "(no metadata)");
  return table(
    ["Key", "Value"],
    entries.map(([key, value]) => [key, jsonText(value)]),
    { class: "metadata", ...attrs },
  );
}

/** Metadata on one line, `key=value · key=value`, for result tables. */
export function metadataInline(metadata) {
  const entries = Object.entries(metadata ?? {});
  if (entries.length === 0) return h("span", { class: "muted" }, "—");
  return h("span", { class: "meta-inline" }, entries.map(([k, v]) => `${k}=${jsonText(v)}`).join(" · "));
}

/**
 * Parse a JSON text field: `{value}` or `{error}` naming the field. `kind` is "object", "array" or
 * "any"; `optional` lets an empty field be `{value: undefined}`.
 */
export function parseJson(text, label, { kind = "any", optional = false } = {}) {
  const trimmed = text.trim();
  if (!trimmed) return optional ? { value: undefined } : { error: `${label} is empty.` };
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    return { error: `${label} is not valid JSON: ${err.message}` };
  }
  if (kind === "object" && (value === null || typeof value !== "object" || Array.isArray(value))) {
    return { error: `${label} must be a JSON object, like {"genre": {"$eq": "drama"}}.` };
  }
  if (kind === "array" && !Array.isArray(value)) {
    return { error: `${label} must be a JSON array of numbers, like [0.1, 0.2, 0.3].` };
  }
  return { value };
}

/** In a textarea, Ctrl+Enter (or Cmd+Enter) submits its form: Enter alone must stay a newline there. */
export function submitOnCtrlEnter(textarea) {
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && textarea.form) {
      event.preventDefault();
      textarea.form.requestSubmit();
    }
  });
  return textarea;
}
