// Records of one namespace: list ids (prefix, pagination), fetch one record (a values preview and its
// metadata as a table), and fetch by metadata filter.

import { api, dp, wireNamespace } from "/console/api.js";
import {
  errorBox,
  field,
  fill,
  h,
  int,
  metadataInline,
  metadataTable,
  parseJson,
  sparsePreview,
  submitOnCtrlEnter,
  table,
  valuesPreview,
} from "/console/dom.js";
import { busy, indexHeader, namespaceBar } from "/console/ui.js";

export async function recordsPage({ index, ns }) {
  const nsBar = await namespaceBar(index, "records", ns);
  const fetchOne = fetchSection(index, ns);
  return [
    ...indexHeader(index, "records", `Records of ${index}`, ns),
    nsBar,
    listSection(index, ns, fetchOne.show),
    fetchOne.section,
    byMetadataSection(index, ns),
  ];
}

// ------------------------------------------------------------------ list

function listSection(index, ns, show) {
  const prefix = h("input", { id: "list-prefix", name: "prefix", autocomplete: "off", spellcheck: "false" });
  const limit = h("input", {
    id: "list-limit",
    name: "limit",
    type: "number",
    min: "1",
    max: "100",
    value: "20",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "List records");
  const out = h("div", { id: "list-result", "aria-live": "polite" });
  // The tokens of the pages shown so far: tokens[i] fetched page i (tokens[0] is none). "Previous" goes
  // back through them, since the API's tokens only go forward.
  let tokens = [undefined];
  let page = 0;

  async function load() {
    try {
      const res = await api("GET", `${dp(index)}/vectors/list`, {
        query: {
          namespace: wireNamespace(ns),
          prefix: prefix.value,
          limit: limit.value,
          paginationToken: tokens[page],
        },
      });
      const ids = (res.vectors ?? []).map((v) => v.id);
      const next = res.pagination?.next;
      tokens = tokens.slice(0, page + 1);
      if (next) tokens.push(next);
      const prev = h("button", { type: "button", id: "list-prev", disabled: page === 0 }, "Previous page");
      const more = h("button", { type: "button", id: "list-next", disabled: !next }, "Next page");
      prev.addEventListener("click", () => {
        page -= 1;
        load();
      });
      more.addEventListener("click", () => {
        page += 1;
        load();
      });
      fill(
        out,
        ids.length
          ? h(
              "ol",
              { id: "list-ids", class: "ids", start: String(page * Number(limit.value) + 1) },
              ids.map((id) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => show(id) }, id))),
            )
          : h(
              "p",
              { id: "list-empty" },
              prefix.value ? `No record id starts with "${prefix.value}".` : "No records in this namespace.",
            ),
        h("p", { class: "pager" }, prev, " ", h("span", { id: "list-page" }, `Page ${page + 1}`), " ", more),
      );
    } catch (err) {
      fill(out, errorBox(err));
    }
  }

  const onsubmit = async (event) => {
    event.preventDefault();
    tokens = [undefined];
    page = 0;
    await busy(submit, "Listing…", load);
  };

  return h(
    "section",
    { "aria-labelledby": "list-title" },
    h("h2", { id: "list-title" }, "List record ids"),
    h(
      "form",
      { id: "list-form", class: "inline", onsubmit },
      field("Id prefix", prefix),
      field("Page size", limit),
      submit,
    ),
    out,
  );
}

// ------------------------------------------------------------------ fetch one

function fetchSection(index, ns) {
  const id = h("input", { id: "fetch-id", name: "id", required: true, autocomplete: "off", spellcheck: "false" });
  const submit = h("button", { type: "submit", class: "primary" }, "Fetch");
  const out = h("div", { id: "fetch-result", "aria-live": "polite" });

  async function load() {
    try {
      const res = await api("GET", `${dp(index)}/vectors/fetch`, {
        query: { ids: [id.value], namespace: wireNamespace(ns) },
      });
      const record = res.vectors?.[id.value];
      if (!record) return fill(out, h("p", { id: "fetch-missing" }, `No record "${id.value}" in this namespace.`));
      fill(
        out,
        h("h3", { id: "fetch-record-id" }, record.id),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Values"),
          h("dd", { id: "fetch-values" }, valuesPreview(record.values)),
          record.sparseValues
            ? [h("dt", {}, "Sparse values"), h("dd", { id: "fetch-sparse" }, sparsePreview(record.sparseValues))]
            : null,
        ),
        h("h4", {}, "Metadata"),
        metadataTable(record.metadata, { id: "fetch-metadata" }),
      );
    } catch (err) {
      fill(out, errorBox(err));
    }
  }

  const onsubmit = async (event) => {
    event.preventDefault();
    await busy(submit, "Fetching…", load);
  };

  const section = h(
    "section",
    { "aria-labelledby": "fetch-title" },
    h("h2", { id: "fetch-title" }, "Fetch a record"),
    h("form", { id: "fetch-form", class: "inline", onsubmit }, field("Record id", id), submit),
    out,
  );
  /** Fetch `recordId` (from the list), as if typed, and move the focus to the form. */
  const show = (recordId) => {
    id.value = recordId;
    id.focus();
    return load();
  };
  return { section, show };
}

// ------------------------------------------------------------------ fetch by metadata

function byMetadataSection(index, ns) {
  const filter = submitOnCtrlEnter(
    h("textarea", {
      id: "fbm-filter",
      name: "filter",
      rows: "3",
      spellcheck: "false",
      placeholder: '{"genre": {"$eq": "drama"}}',
    }),
  );
  const limit = h("input", {
    id: "fbm-limit",
    name: "limit",
    type: "number",
    min: "1",
    max: "10000",
    value: "100",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Fetch by metadata");
  const out = h("div", { id: "fbm-result", "aria-live": "polite" });
  let shown = [];

  async function load(token) {
    const parsed = parseJson(filter.value, "The filter", { kind: "object" });
    if (parsed.error) return fill(out, errorBox(parsed.error));
    // (the API refuses an empty filter, as the SDK does before sending one: say so without a request)
    if (Object.keys(parsed.value).length === 0)
      return fill(
        out,
        errorBox("The filter needs at least one condition: the API refuses an empty filter for fetch by metadata."),
      );
    try {
      const res = await api("POST", `${dp(index)}/vectors/fetch_by_metadata`, {
        body: {
          filter: parsed.value,
          namespace: wireNamespace(ns),
          limit: Number(limit.value),
          paginationToken: token,
        },
      });
      shown = token ? shown.concat(Object.values(res.vectors ?? {})) : Object.values(res.vectors ?? {});
      const next = res.pagination?.next;
      const more = next
        ? h("button", { type: "button", id: "fbm-more", onclick: () => load(next) }, "Fetch more")
        : null;
      fill(
        out,
        h("p", { id: "fbm-count" }, `${int(shown.length)} records${next ? " so far" : ""}.`),
        shown.length
          ? table(
              ["Id", "Values", "Metadata"],
              shown.map((r) => [r.id, valuesPreview(r.values, 3), metadataInline(r.metadata)]),
              { id: "fbm-table" },
            )
          : null,
        more,
      );
    } catch (err) {
      fill(out, errorBox(err));
    }
  }

  const onsubmit = async (event) => {
    event.preventDefault();
    await busy(submit, "Fetching…", () => load(undefined));
  };

  return h(
    "section",
    { "aria-labelledby": "fbm-title" },
    h("h2", { id: "fbm-title" }, "Fetch by metadata filter"),
    h(
      "form",
      { id: "fbm-form", class: "stack", onsubmit },
      field("Filter (JSON)", filter, "Pinecone's filter language; Ctrl+Enter fetches"),
      field("Limit", limit, "1 to 10,000 per page"),
      h("div", { class: "buttons" }, submit),
    ),
    out,
  );
}
