// Query one namespace: by a pasted vector (dense JSON array and/or sparse {indices, values}) or by a
// record id, with an optional metadata filter and top-k; shows ids, scores and metadata.

import { api, dp, indexKind, wireNamespace } from "/console/api.js";
import {
  errorBox,
  field,
  fill,
  h,
  metadataInline,
  parseJson,
  plural,
  submitOnCtrlEnter,
  table,
  valuesPreview,
} from "/console/dom.js";
import { busy, indexHeader, namespaceBar } from "/console/ui.js";

export async function queryPage({ index, ns }) {
  const [nsBar, model] = await Promise.all([
    namespaceBar(index, "query", ns),
    api("GET", `/indexes/${encodeURIComponent(index)}`),
  ]);
  const kind = indexKind(model);

  const byVector = h("input", { type: "radio", id: "by-vector", name: "by", value: "vector", checked: true });
  const byId = h("input", { type: "radio", id: "by-id", name: "by", value: "id" });
  const vector = submitOnCtrlEnter(
    h("textarea", {
      id: "q-vector",
      name: "vector",
      rows: "3",
      spellcheck: "false",
      placeholder: kind.dimension ? `[0.1, 0.2, …] (${kind.dimension} numbers)` : "[0.1, 0.2, 0.3]",
    }),
  );
  const sparse = submitOnCtrlEnter(
    h("textarea", {
      id: "q-sparse",
      name: "sparse",
      rows: "2",
      spellcheck: "false",
      placeholder: '{"indices": [3, 17], "values": [0.5, 0.25]}',
    }),
  );
  const id = h("input", { id: "q-id", name: "id", autocomplete: "off", spellcheck: "false" });
  const filter = submitOnCtrlEnter(
    h("textarea", {
      id: "q-filter",
      name: "filter",
      rows: "3",
      spellcheck: "false",
      placeholder: '{"genre": {"$eq": "drama"}, "year": {"$gte": 2019}}',
    }),
  );
  const topK = h("input", {
    id: "q-topk",
    name: "topK",
    type: "number",
    min: "1",
    max: "10000",
    value: "10",
    required: true,
  });
  const withValues = h("input", { id: "q-values", name: "includeValues", type: "checkbox" });
  const withMetadata = h("input", { id: "q-metadata", name: "includeMetadata", type: "checkbox", checked: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Run query");
  const out = h("div", { id: "query-result", "aria-live": "polite" });

  // Only the fields of the chosen kind of query are shown (and sent).
  const vectorFields = h(
    "div",
    { id: "vector-fields" },
    kind.kind === "sparse"
      ? null
      : field("Vector (JSON array)", vector, kind.dimension ? `${kind.dimension} numbers` : null),
    // (a sparse query vector: alone on a sparse index, beside the dense one on a dotproduct index)
    kind.kind !== "sparse" && kind.metric !== "dotproduct"
      ? null
      : field(
          "Sparse vector (JSON)",
          sparse,
          kind.kind === "sparse" ? "indices and values" : "optional, for a hybrid query (dotproduct)",
        ),
  );
  const idFields = h(
    "div",
    { id: "id-fields", hidden: true },
    field("Record id", id, "the query vector is that record's"),
  );
  const switchMode = () => {
    vectorFields.hidden = !byVector.checked;
    idFields.hidden = !byId.checked;
  };
  byVector.addEventListener("change", switchMode);
  byId.addEventListener("change", switchMode);

  /** The request body, or an error text: JSON fields are checked here, the values by the API. */
  function body() {
    const b = {
      topK: Number(topK.value),
      namespace: wireNamespace(ns),
      includeValues: withValues.checked,
      includeMetadata: withMetadata.checked,
    };
    if (byId.checked) {
      if (!id.value) return { error: "Type the id of the record to query with." };
      b.id = id.value;
    } else {
      const dense = parseJson(vector.value, "The vector", { kind: "array", optional: true });
      if (dense.error) return { error: dense.error };
      const sp = parseJson(sparse.value, "The sparse vector", { kind: "object", optional: true });
      if (sp.error) return { error: sp.error };
      if (dense.value === undefined && sp.value === undefined)
        return { error: "Paste a query vector (a JSON array of numbers)." };
      if (dense.value !== undefined) b.vector = dense.value;
      if (sp.value !== undefined) b.sparseVector = sp.value;
    }
    const f = parseJson(filter.value, "The filter", { kind: "object", optional: true });
    if (f.error) return { error: f.error };
    if (f.value !== undefined) b.filter = f.value;
    return { body: b };
  }

  const onsubmit = async (event) => {
    event.preventDefault();
    const built = body();
    if (built.error) return fill(out, errorBox(built.error));
    await busy(submit, "Querying…", async () => {
      try {
        const res = await api("POST", `${dp(index)}/query`, { body: built.body });
        const matches = res.matches ?? [];
        const head = [
          "#",
          "Id",
          "Score",
          ...(withMetadata.checked ? ["Metadata"] : []),
          ...(withValues.checked ? ["Values"] : []),
        ];
        const rows = matches.map((m, i) => [
          String(i + 1),
          m.id,
          typeof m.score === "number" ? m.score.toFixed(6) : "—",
          ...(withMetadata.checked ? [metadataInline(m.metadata)] : []),
          ...(withValues.checked ? [valuesPreview(m.values, 4)] : []),
        ]);
        fill(
          out,
          h(
            "p",
            { id: "query-count" },
            `${plural(matches.length, "match", "matches")} (${plural(res.usage?.readUnits ?? 0, "read unit", "read units")}).`,
          ),
          matches.length ? table(head, rows, { id: "query-table" }) : null,
        );
      } catch (err) {
        fill(out, errorBox(err)); // a bad filter, a wrong dimension: the API's 400 message
      }
    });
  };

  return [
    ...indexHeader(index, "query", `Query ${index}`, ns),
    nsBar,
    h(
      "form",
      { id: "query-form", class: "stack", onsubmit },
      h(
        "fieldset",
        { class: "radios" },
        h("legend", {}, "Query by"),
        byVector,
        h("label", { for: "by-vector" }, "Vector"),
        byId,
        h("label", { for: "by-id" }, "Record id"),
      ),
      vectorFields,
      idFields,
      field("Filter (JSON, optional)", filter, "Pinecone's filter language; Ctrl+Enter runs the query"),
      h(
        "div",
        { class: "row" },
        field("Top k", topK),
        h("div", { class: "field check" }, withMetadata, h("label", { for: withMetadata.id }, "Include metadata")),
        h("div", { class: "field check" }, withValues, h("label", { for: withValues.id }, "Include values")),
      ),
      h("div", { class: "buttons" }, submit),
    ),
    out,
  ];
}
