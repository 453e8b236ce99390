// The index list (with the create form) and an index's overview: its configuration, settings
// (deletion protection, tags, delete), stats per namespace and spruce's storage report.

import { api, dp, indexKind, statsCount } from "/console/api.js";
import { bytes, errorBox, facts, field, fill, h, int, plural, table } from "/console/dom.js";
import { busy, confirmAction, indexHeader, indexHref, noteForNextPage } from "/console/ui.js";

/** `{a: "b"}` → `"a=b, c=d"`, the tag field's text. */
function tagsText(tags) {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** The tag field's text (`key=value`, separated by commas or new lines) → `{tags}` or `{error}`. */
function parseTags(text) {
  const tags = {};
  for (const part of text.split(/[,\n]/)) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf("=");
    if (eq <= 0) return { error: `Tag "${item}" is not key=value.` };
    tags[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return { tags };
}

// ------------------------------------------------------------------ #/indexes

export async function indexesPage() {
  const { indexes = [] } = await api("GET", "/indexes");
  const rows = indexes.map((m) => {
    const kind = indexKind(m);
    return [
      h("a", { href: indexHref(m.name) }, m.name),
      kind.kind,
      kind.dimension ?? "—",
      kind.metric || "—",
      m.deletion_protection ?? "disabled",
      tagsText(m.tags) || "—",
      m.status?.state ?? "",
    ];
  });
  const list = indexes.length
    ? table(["Name", "Type", "Dimension", "Metric", "Deletion protection", "Tags", "State"], rows, {
        id: "index-table",
      })
    : h("p", { id: "index-table-empty" }, "No indexes yet: create one below.");
  return [h("h1", { tabindex: "-1" }, "Indexes"), list, createForm()];
}

function createForm() {
  const name = h("input", {
    id: "create-name",
    name: "name",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    pattern: "[a-z0-9]([a-z0-9-]*[a-z0-9])?",
    maxlength: "45",
  });
  const type = h(
    "select",
    { id: "create-type", name: "type" },
    h("option", { value: "dense" }, "dense"),
    h("option", { value: "sparse" }, "sparse"),
  );
  const dimension = h("input", {
    id: "create-dimension",
    name: "dimension",
    type: "number",
    min: "1",
    max: "20000",
    value: "1536",
    required: true,
  });
  const metric = h(
    "select",
    { id: "create-metric", name: "metric" },
    ["cosine", "euclidean", "dotproduct"].map((m) => h("option", { value: m }, m)),
  );
  const protection = h("input", { id: "create-protection", name: "protection", type: "checkbox" });
  const tags = h("input", {
    id: "create-tags",
    name: "tags",
    autocomplete: "off",
    placeholder: "env=prod, team=search",
  });
  const result = h("div", { id: "create-result", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create index");

  // A sparse index has no dimension and only the dotproduct metric: the fields follow the type.
  type.addEventListener("change", () => {
    const sparse = type.value === "sparse";
    dimension.disabled = sparse;
    dimension.required = !sparse;
    if (sparse) metric.value = "dotproduct";
    metric.disabled = sparse;
  });

  const onsubmit = async (event) => {
    event.preventDefault();
    const parsed = parseTags(tags.value);
    if (parsed.error) return fill(result, errorBox(parsed.error));
    // The 2026-07 create body, as SDK 10.x sends it for create_index(dimension=, metric=, spec=ServerlessSpec).
    const fields =
      type.value === "sparse"
        ? { _sparse_values: { type: "sparse_vector" } }
        : { _values: { type: "dense_vector", dimension: Number(dimension.value), metric: metric.value } };
    const body = {
      name: name.value.trim(),
      schema: { fields },
      deployment: { deployment_type: "managed", cloud: "aws", region: "us-east-1" },
      deletion_protection: protection.checked ? "enabled" : "disabled",
    };
    if (Object.keys(parsed.tags).length) body.tags = parsed.tags;
    await busy(submit, "Creating…", async () => {
      try {
        await api("POST", "/indexes", { body });
        noteForNextPage(`Created index ${body.name}.`);
        window.dispatchEvent(new Event("console:rerender"));
      } catch (err) {
        fill(result, errorBox(err));
      }
    });
  };

  return h(
    "section",
    { "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "Create an index"),
    h(
      "form",
      { id: "create-form", class: "grid", onsubmit },
      field("Name", name, "1 to 45 of a-z, 0-9 and '-'"),
      field("Vector type", type),
      field("Dimension", dimension, "1 to 20,000 (dense only)"),
      field("Metric", metric),
      h("div", { class: "field check" }, protection, h("label", { for: protection.id }, "Deletion protection")),
      field("Tags", tags, "key=value, separated by commas"),
      h("div", { class: "buttons" }, submit),
    ),
    result,
  );
}

// ------------------------------------------------------------------ #/index/<name>

export async function overviewPage({ index }) {
  const [model, stats, storage] = await Promise.all([
    api("GET", `/indexes/${encodeURIComponent(index)}`),
    api("POST", `${dp(index)}/describe_index_stats`, { body: {} }),
    api("GET", `${dp(index)}/spruce/storage`),
  ]);
  const kind = indexKind(model);
  const deployment = model.deployment ?? {};
  const config = facts(
    [
      ["Type", kind.kind],
      ["Dimension", kind.dimension ?? "—"],
      ["Metric", kind.metric || "—"],
      [
        "Deployment",
        [deployment.deployment_type, deployment.cloud, deployment.region].filter(Boolean).join(" / ") || "—",
      ],
      ["Host", model.host ?? "—"],
      ["State", model.status?.state ?? "—"],
    ],
    { id: "index-config" },
  );
  const fieldList =
    kind.kind === "documents"
      ? h(
          "p",
          { class: "hint" },
          "A document index (fields: ",
          Object.keys(model.schema?.fields ?? {}).join(", "),
          "). Its records are documents (the Documents API); the record pages here use the vectors API.",
        )
      : null;
  return [
    ...indexHeader(index, "", `Index ${index}`),
    h(
      "section",
      { "aria-labelledby": "config-title" },
      h("h2", { id: "config-title" }, "Configuration"),
      config,
      fieldList,
    ),
    settings(index, model),
    storageSection(stats, storage),
  ];
}

function settings(index, model) {
  const result = h("div", { id: "settings-result", "aria-live": "polite" });
  const enabled = model.deletion_protection === "enabled";
  const toggle = h(
    "button",
    { type: "button", id: "protection-toggle" },
    enabled ? "Disable deletion protection" : "Enable deletion protection",
  );
  toggle.addEventListener("click", () =>
    busy(toggle, "Saving…", async () => {
      try {
        await api("PATCH", `/indexes/${encodeURIComponent(index)}`, {
          body: { deletion_protection: enabled ? "disabled" : "enabled" },
        });
        noteForNextPage(`Deletion protection ${enabled ? "disabled" : "enabled"}.`);
        window.dispatchEvent(new Event("console:rerender"));
      } catch (err) {
        fill(result, errorBox(err));
      }
    }),
  );

  const tags = h("input", {
    id: "tags-input",
    name: "tags",
    value: tagsText(model.tags),
    autocomplete: "off",
    placeholder: "env=prod, team=search",
  });
  const saveTags = h("button", { type: "submit" }, "Save tags");
  const onTags = async (event) => {
    event.preventDefault();
    const parsed = parseTags(tags.value);
    if (parsed.error) return fill(result, errorBox(parsed.error));
    // PATCH merges tags; a key sent with "" is removed. So every old key that is gone is sent as "".
    const body = { ...parsed.tags };
    for (const key of Object.keys(model.tags ?? {})) if (!(key in body)) body[key] = "";
    await busy(saveTags, "Saving…", async () => {
      try {
        await api("PATCH", `/indexes/${encodeURIComponent(index)}`, { body: { tags: body } });
        noteForNextPage("Tags saved.");
        window.dispatchEvent(new Event("console:rerender"));
      } catch (err) {
        fill(result, errorBox(err));
      }
    });
  };

  const remove = h("button", { type: "button", id: "delete-index", class: "danger" }, "Delete index…");
  remove.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: `Delete index ${index}?`,
      message: `Every namespace and record of ${index} is deleted. This cannot be undone.`,
      confirmLabel: "Delete index",
    });
    if (!sure) return remove.focus();
    await busy(remove, "Deleting…", async () => {
      try {
        await api("DELETE", `/indexes/${encodeURIComponent(index)}`);
        noteForNextPage(`Deleted index ${index}.`);
        location.hash = "#/indexes";
      } catch (err) {
        fill(result, errorBox(err)); // deletion protection: the API's 403 message
      }
    });
  });

  return h(
    "section",
    { "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title" }, "Settings"),
    h(
      "p",
      {},
      "Deletion protection: ",
      h("strong", { id: "protection-state" }, model.deletion_protection ?? "disabled"),
      " ",
      toggle,
    ),
    h(
      "form",
      { id: "tags-form", class: "inline", onsubmit: onTags },
      field("Tags", tags, "key=value, separated by commas; remove one to delete it"),
      saveTags,
    ),
    h("p", {}, remove),
    result,
  );
}

function storageSection(stats, storage) {
  const perNs = storage.namespaces ?? {};
  const key = (name) => (name === "__default__" ? "" : name); // one spelling of the default namespace
  const names = [...new Set([...Object.keys(stats.namespaces ?? {}), ...Object.keys(perNs)].map(key))].sort();
  let segments = 0;
  let graphs = 0;
  for (const ns of Object.values(perNs)) {
    segments += ns.segments ?? 0;
    graphs += ns.segments_with_graph ?? 0;
  }
  const summary = facts(
    [
      ["Records", int(stats.totalVectorCount ?? 0)],
      ["Unindexed records", int(storage.unindexed_records)],
      ["Segments", `${int(segments)} (${int(graphs)} with a graph)`],
      ["Disk (local)", bytes(storage.local_bytes)],
      ["Objects in the store", int(storage.objects)],
      [
        "Log not yet flushed",
        `${plural(storage.unflushed_log_entries, "entry", "entries")}, ${bytes(storage.unflushed_log_bytes)}`,
      ],
      ["LSN", int(storage.lsn)],
      ["Manifest", `version ${int(storage.manifest_version)} (up to LSN ${int(storage.manifest_lsn)})`],
    ],
    { id: "storage-summary" },
  );
  const rows = names.map((name) => {
    const s = perNs[name] ?? (name === "" ? perNs.__default__ : undefined) ?? {};
    return [
      name === "" ? "__default__" : name,
      int(statsCount(stats, name)),
      int(s.memtable_records ?? 0),
      int(s.segments ?? 0),
      int(s.segments_with_graph ?? 0),
      int(s.pending_deletions ?? 0),
    ];
  });
  return h(
    "section",
    { "aria-labelledby": "storage-title" },
    h("h2", { id: "storage-title" }, "Stats and storage"),
    storage.background_error
      ? h(
          "p",
          { class: "error", role: "alert", id: "background-error" },
          "Background work failed: ",
          storage.background_error,
        )
      : null,
    summary,
    h("h3", {}, "Per namespace"),
    rows.length
      ? table(["Namespace", "Records", "In memtable", "Segments", "Segments with graph", "Pending deletions"], rows, {
          id: "ns-stats",
        })
      : h("p", { id: "ns-stats-empty" }, "No records yet."),
    h(
      "p",
      {},
      h("button", { type: "button", onclick: () => window.dispatchEvent(new Event("console:rerender")) }, "Refresh"),
    ),
  );
}
