// Delete records of one namespace by ids, by id prefix or by metadata filter. Each first counts what it
// would delete (a dry run, through the API only) and deletes nothing until the user confirms that count:
//
// - by ids: the ids that fetch finds (only those are then deleted, so the count is what goes);
// - by prefix: the ids that list returns, every page (and then exactly those ids are deleted, in
//   batches of 1000, the API's limit per delete);
// - by filter: describe_index_stats with that filter, for this namespace (then one delete by filter).
//
// Editing a form after its count throws the count away: what is confirmed is always what was counted.

import { allPages, api, dp, statsCount, wireNamespace } from "/console/api.js";
import { errorBox, field, fill, h, int, okBox, parseJson, submitOnCtrlEnter } from "/console/dom.js";
import { busy, indexHeader, namespaceBar } from "/console/ui.js";

const FETCH_BATCH = 100; // ids per fetch while counting (short reads; a URL stays small)
const DELETE_BATCH = 1000; // ids per delete (the API's limit)

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function deleteIds(index, namespace, ids, progress) {
  let done = 0;
  for (const batch of chunks(ids, DELETE_BATCH)) {
    await api("POST", `${dp(index)}/vectors/delete`, { body: { ids: batch, namespace } });
    done += batch.length;
    progress(done);
  }
}

export async function deletePage({ index, ns }) {
  const nsBar = await namespaceBar(index, "delete", ns);
  const namespace = wireNamespace(ns);
  const label = ns || "__default__";
  return [
    ...indexHeader(index, "delete", `Delete records from ${index}`, ns),
    nsBar,
    h(
      "p",
      { class: "hint" },
      `In namespace ${label}. Each delete first counts the records it would delete; ` +
        "nothing is deleted until you confirm that count.",
    ),
    byIds(index, namespace),
    byPrefix(index, namespace),
    byFilter(index, namespace),
  ];
}

/**
 * One delete form: `count()` resolves to `{count, text, run}` (run deletes what was counted, telling
 * `progress(n)`), or rejects with the API's error. Shows the count and a confirm button.
 */
function deleteForm({ id, title, fields, count }) {
  const submit = h("button", { type: "submit", class: "primary" }, "Count records to delete");
  const out = h("div", { id: `${id}-result`, "aria-live": "polite" });
  const form = h("form", { id: `${id}-form`, class: "stack" }, fields, h("div", { class: "buttons" }, submit));
  let generation = 0; // bumped by every edit and every count: a stale confirm button does nothing

  form.addEventListener("input", () => {
    generation += 1;
    fill(out);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const mine = ++generation;
    fill(out, h("p", { role: "status" }, "Counting…"));
    await busy(submit, "Counting…", async () => {
      let plan;
      try {
        plan = await count(
          (n) => mine === generation && fill(out, h("p", { role: "status" }, `Counting… ${int(n)} so far`)),
        );
      } catch (err) {
        return mine === generation && fill(out, errorBox(err));
      }
      if (mine !== generation) return;
      if (plan.count === 0)
        return fill(out, h("p", { id: `${id}-count`, "data-count": "0" }, `${plan.text} Nothing to delete.`));
      const confirm = h(
        "button",
        { type: "button", class: "danger", id: `${id}-confirm` },
        `Delete ${int(plan.count)} records`,
      );
      const cancel = h("button", { type: "button", id: `${id}-cancel`, onclick: () => fill(out) }, "Cancel");
      confirm.addEventListener("click", async () => {
        if (mine !== generation) return;
        generation += 1; // one confirm per count
        cancel.disabled = true;
        await busy(confirm, "Deleting…", async () => {
          try {
            await plan.run((n) => (confirm.textContent = `Deleting… ${int(n)} of ${int(plan.count)}`));
            fill(out, okBox(`Deleted ${int(plan.count)} records.`));
          } catch (err) {
            fill(out, errorBox(err));
          }
        });
      });
      fill(
        out,
        h("p", { id: `${id}-count`, "data-count": String(plan.count) }, plan.text),
        h("p", { class: "buttons" }, confirm, " ", cancel),
      );
      confirm.focus();
    });
  });

  return h("section", { "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), form, out);
}

function byIds(index, namespace) {
  const ids = h("textarea", {
    id: "del-ids",
    name: "ids",
    rows: "3",
    required: true,
    spellcheck: "false",
    placeholder: "one id per line (or separated by commas)",
  });
  submitOnCtrlEnter(ids);
  return deleteForm({
    id: "del-ids",
    title: "By ids",
    fields: field("Record ids", ids, "one per line or separated by commas; Ctrl+Enter counts"),
    count: async (progress) => {
      const wanted = [
        ...new Set(
          ids.value
            .split(/[\n,]/)
            .map((s) => s.trim())
            .filter(Boolean),
        ),
      ];
      if (!wanted.length) throw new Error("Type at least one id.");
      const found = [];
      for (const batch of chunks(wanted, FETCH_BATCH)) {
        const res = await api("GET", `${dp(index)}/vectors/fetch`, { query: { ids: batch, namespace } });
        found.push(...batch.filter((id) => res.vectors?.[id]));
        progress(found.length);
      }
      return {
        count: found.length,
        text: `${int(found.length)} of the ${int(wanted.length)} ids exist in this namespace.`,
        run: (p) => deleteIds(index, namespace, found, p),
      };
    },
  });
}

function byPrefix(index, namespace) {
  const prefix = h("input", {
    id: "del-prefix",
    name: "prefix",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
  });
  return deleteForm({
    id: "del-prefix",
    title: "By id prefix",
    fields: field("Id prefix", prefix, "every record whose id starts with it (list, then delete those ids)"),
    count: async (progress) => {
      const value = prefix.value;
      if (!value) throw new Error("Type a prefix (to delete every record, delete the namespace).");
      const found = await allPages(
        (token) =>
          api("GET", `${dp(index)}/vectors/list`, {
            query: { namespace, prefix: value, limit: 100, paginationToken: token },
          }),
        (page) => (page.vectors ?? []).map((v) => v.id),
        progress,
      );
      return {
        count: found.length,
        text: `${int(found.length)} records have an id starting with "${value}".`,
        run: (p) => deleteIds(index, namespace, found, p),
      };
    },
  });
}

function byFilter(index, namespace) {
  const filter = submitOnCtrlEnter(
    h("textarea", {
      id: "del-filter",
      name: "filter",
      rows: "3",
      required: true,
      spellcheck: "false",
      placeholder: '{"genre": {"$eq": "drama"}}',
    }),
  );
  return deleteForm({
    id: "del-filter",
    title: "By metadata filter",
    fields: field("Filter (JSON)", filter, "Pinecone's filter language; Ctrl+Enter counts"),
    count: async () => {
      const parsed = parseJson(filter.value, "The filter", { kind: "object" });
      if (parsed.error) throw new Error(parsed.error);
      // (the API refuses a delete with an empty filter; say so before counting every record)
      if (Object.keys(parsed.value).length === 0)
        throw new Error(
          "An empty filter matches every record, and the API refuses a delete with one: delete the namespace instead.",
        );
      const stats = await api("POST", `${dp(index)}/describe_index_stats`, { body: { filter: parsed.value } });
      const n = statsCount(stats, namespace);
      return {
        count: n,
        text: `${int(n)} records match the filter in this namespace.`,
        run: () => api("POST", `${dp(index)}/vectors/delete`, { body: { filter: parsed.value, namespace } }),
      };
    },
  });
}
