// An index's namespaces: the list (the namespaces API, every page), create, delete with confirmation.

import { api, dp, listNamespaces } from "/console/api.js";
import { errorBox, field, fill, h, int, table } from "/console/dom.js";
import { busy, confirmAction, indexHeader, indexHref, noteForNextPage } from "/console/ui.js";

export async function namespacesPage({ index }) {
  const namespaces = await listNamespaces(index);
  const result = h("div", { id: "ns-result", "aria-live": "polite" });

  const rows = namespaces.map((ns) => {
    const remove = h("button", { type: "button", class: "danger small", "data-namespace": ns.name }, "Delete…");
    remove.addEventListener("click", async () => {
      const sure = await confirmAction({
        title: `Delete namespace ${ns.name}?`,
        message: `Its ${int(ns.record_count)} records are deleted from ${index}. This cannot be undone.`,
        confirmLabel: "Delete namespace",
      });
      if (!sure) return remove.focus();
      await busy(remove, "Deleting…", async () => {
        try {
          await api("DELETE", `${dp(index)}/namespaces/${encodeURIComponent(ns.name)}`);
          noteForNextPage(`Deleted namespace ${ns.name}.`);
          window.dispatchEvent(new Event("console:rerender"));
        } catch (err) {
          fill(result, errorBox(err));
        }
      });
    });
    const wire = ns.name === "__default__" ? "" : ns.name;
    return [
      ns.name,
      int(ns.record_count),
      h(
        "span",
        { class: "actions" },
        h("a", { href: indexHref(index, "records", wire) }, "Records"),
        " ",
        h("a", { href: indexHref(index, "query", wire) }, "Query"),
        " ",
        remove,
      ),
    ];
  });

  const name = h("input", {
    id: "ns-name",
    name: "name",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    maxlength: "512",
  });
  const create = h("button", { type: "submit", class: "primary" }, "Create namespace");
  const onsubmit = async (event) => {
    event.preventDefault();
    await busy(create, "Creating…", async () => {
      try {
        await api("POST", `${dp(index)}/namespaces`, { body: { name: name.value } });
        noteForNextPage(`Created namespace ${name.value}.`);
        window.dispatchEvent(new Event("console:rerender"));
      } catch (err) {
        fill(result, errorBox(err));
      }
    });
  };

  return [
    ...indexHeader(index, "namespaces", `Namespaces of ${index}`),
    namespaces.length
      ? table(["Namespace", "Records", ""], rows, { id: "ns-table" })
      : h("p", { id: "ns-table-empty" }, "No namespaces yet."),
    h(
      "section",
      { "aria-labelledby": "ns-create-title" },
      h("h2", { id: "ns-create-title" }, "Create a namespace"),
      h("form", { id: "ns-create-form", class: "inline", onsubmit }, field("Name", name), create),
    ),
    result,
  ];
}
