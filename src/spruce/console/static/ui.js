// Pieces the pages share: the confirmation dialog, one-shot notes carried across a navigation, the
// index pages' heading and tabs, and the namespace chooser.

import { h, int } from "/console/dom.js";
import { listNamespaces } from "/console/api.js";

/**
 * Ask before a destructive action, in the page's own <dialog> (modal: focus stays inside, Escape
 * cancels, Cancel has the focus first so Enter alone never destroys anything). Resolves to true only
 * when the user pressed the confirm button.
 */
export function confirmAction({ title, message, confirmLabel = "Delete" }) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-message").textContent = message;
  document.getElementById("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

let pendingNote = null;

/** A note to show at the top of the next page rendered ("Deleted index x."), then forgotten. */
export function noteForNextPage(text) {
  pendingNote = text;
}

export function takeNote() {
  const note = pendingNote;
  pendingNote = null;
  return note;
}

/** `#/index/<name>/<tab>?ns=<namespace>`: the address of an index page. */
export function indexHref(index, tab = "", ns = "") {
  const path = `#/index/${encodeURIComponent(index)}${tab ? `/${tab}` : ""}`;
  return ns ? `${path}?${new URLSearchParams({ ns })}` : path;
}

const TABS = [
  ["", "Overview"],
  ["namespaces", "Namespaces"],
  ["records", "Records"],
  ["query", "Query"],
  ["delete", "Delete records"],
];

/** The heading and tab bar of every page about one index (the current tab marked aria-current). */
export function indexHeader(index, current, title, ns = "") {
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/indexes" }, "Indexes"), " / ", index),
    h("h1", { tabindex: "-1" }, title),
    h(
      "nav",
      { class: "tabs", "aria-label": `Index ${index}` },
      TABS.map(([tab, label]) =>
        h(
          "a",
          {
            href: indexHref(index, tab, tab && tab !== "namespaces" ? ns : ""),
            "aria-current": tab === current ? "page" : null,
          },
          label,
        ),
      ),
    ),
  ];
}

/**
 * The namespace the page works in, as a small form (a text field with the index's namespaces as
 * suggestions: any name may be typed, `__default__` or an empty field is the default namespace).
 * Submitting it moves to the same page in that namespace.
 */
export async function namespaceBar(index, tab, ns) {
  let known = [];
  try {
    known = await listNamespaces(index);
  } catch {
    known = []; // the page's own calls will show the API's error
  }
  const input = h("input", {
    id: "ns-input",
    name: "namespace",
    list: "ns-options",
    value: ns || "__default__",
    autocomplete: "off",
    spellcheck: "false",
  });
  const here = known.find((n) => n.name === (ns || "__default__"));
  const form = h(
    "form",
    {
      id: "ns-form",
      class: "nsbar",
      onsubmit: (event) => {
        event.preventDefault();
        const value = input.value.trim();
        location.hash = indexHref(index, tab, value && value !== "__default__" ? value : "");
      },
    },
    h("label", { for: "ns-input" }, "Namespace"),
    input,
    h(
      "datalist",
      { id: "ns-options" },
      known.map((n) => h("option", { value: n.name }, `${int(n.record_count)} records`)),
    ),
    h("button", { type: "submit" }, "Switch namespace"),
    h(
      "span",
      { class: "muted", id: "ns-count" },
      here ? `${int(here.record_count)} records` : "not created yet (no records)",
    ),
  );
  return form;
}

/**
 * Run `work` with `button` disabled and its label swapped for `busyLabel`, so a slow call cannot be
 * started twice; the button comes back whatever happens.
 */
export async function busy(button, busyLabel, work) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busyLabel;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}
