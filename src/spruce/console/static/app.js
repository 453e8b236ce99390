// The console's entry point: hash routing, the API-key prompt, the /health and /ready badges.
//
// Routes (one page, the part after `#`):
//   #/indexes                      the index list and the create form
//   #/index/<name>                 configuration, settings, stats and storage of one index
//   #/index/<name>/namespaces      namespaces: list, create, delete
//   #/index/<name>/records?ns=     list ids, fetch one, fetch by metadata
//   #/index/<name>/query?ns=       query by vector or id, with a filter
//   #/index/<name>/delete?ns=      delete by ids, prefix or filter, each after a dry-run count
// Pages are async functions returning nodes; whatever they throw is shown in their place (the API's
// message), so no failure leaves a blank page.

import { getKey, onUnauthorized, probe, setKey } from "/console/api.js";
import { deletePage } from "/console/delete.js";
import { errorBox, fill, h, okBox } from "/console/dom.js";
import { indexesPage, overviewPage } from "/console/indexes.js";
import { namespacesPage } from "/console/namespaces.js";
import { queryPage } from "/console/query.js";
import { recordsPage } from "/console/records.js";
import { takeNote } from "/console/ui.js";

const main = document.getElementById("main");

const INDEX_PAGES = {
  "": overviewPage,
  namespaces: namespacesPage,
  records: recordsPage,
  query: queryPage,
  delete: deletePage,
};

/** The page for the current hash and its arguments, or null for an unknown address. */
function resolve() {
  const raw = location.hash.replace(/^#/, "") || "/indexes";
  const [path, qs] = raw.split("?", 2);
  const params = new URLSearchParams(qs ?? "");
  if (path === "/" || path === "/indexes") return { page: indexesPage, args: { params } };
  const m = /^\/index\/([^/]+)(?:\/([a-z]+))?\/?$/.exec(path);
  if (m && Object.hasOwn(INDEX_PAGES, m[2] ?? "")) {
    return {
      page: INDEX_PAGES[m[2] ?? ""],
      args: { index: decodeURIComponent(m[1]), ns: params.get("ns") ?? "", params },
    };
  }
  return null;
}

let renderSeq = 0;

/** Render the current route into <main>. A newer navigation wins over a slower, older render. */
async function render() {
  const seq = ++renderSeq;
  let route = null;
  try {
    route = resolve();
  } catch {
    route = null; // a malformed address (a bad %-escape): "Not found" rather than a page left loading
  }
  const note = takeNote();
  let nodes;
  if (!route) {
    nodes = [
      h("h1", { tabindex: "-1" }, "Not found"),
      h("p", {}, "No such console page. ", h("a", { href: "#/indexes" }, "Back to the indexes.")),
    ];
  } else {
    main.setAttribute("aria-busy", "true");
    try {
      nodes = await route.page(route.args);
    } catch (err) {
      nodes = [h("h1", { tabindex: "-1" }, "Could not load this page"), errorBox(err), retryLine(err)];
    }
  }
  if (seq !== renderSeq) return;
  main.removeAttribute("aria-busy");
  fill(main, note ? okBox(note) : null, nodes);
  // Move the focus to the new page's heading (keyboard and screen-reader users start there), unless the
  // key dialog has it.
  if (!document.getElementById("key-dialog").open) main.querySelector("h1")?.focus();
  refreshBadges();
}

function retryLine(err) {
  const again = h("button", { type: "button", onclick: render }, "Try again");
  if (err?.status === 401)
    return h(
      "p",
      {},
      h("button", { type: "button", class: "primary", onclick: () => askForKey("") }, "Enter the API key"),
      " ",
      again,
    );
  return h("p", {}, again, " ", h("a", { href: "#/indexes" }, "Back to the indexes"));
}

// ------------------------------------------------------------------ the API key

const keyDialog = document.getElementById("key-dialog");
const keyInput = document.getElementById("key-input");
const keyMessage = document.getElementById("key-message");

/** Open the key prompt, showing `message` (the API's 401 message) if there is one. */
function askForKey(message) {
  keyMessage.hidden = !message;
  keyMessage.textContent = message ? `The server answered 401: ${message}` : "";
  keyInput.value = getKey();
  if (!keyDialog.open) keyDialog.showModal();
  keyInput.focus();
  keyInput.select();
}

onUnauthorized((message) => askForKey(message));

document.getElementById("key-form").addEventListener("submit", (event) => {
  const key = keyInput.value.trim();
  // A header value must be printable ASCII (fetch refuses anything else before sending it).
  if (!/^[\x20-\x7e]+$/.test(key)) {
    event.preventDefault();
    keyMessage.hidden = false;
    keyMessage.textContent = "An API key is printable ASCII characters only.";
    return;
  }
  setKey(key);
  render(); // the dialog closes itself (method=dialog); the page is loaded again with the key
});
document.getElementById("key-forget").addEventListener("click", () => {
  setKey("");
  keyDialog.close();
  render();
});
document.getElementById("key-cancel").addEventListener("click", () => keyDialog.close());
document.getElementById("key-button").addEventListener("click", () => askForKey(""));

// ------------------------------------------------------------------ /health and /ready

async function refreshBadges() {
  const [health, ready] = await Promise.all([probe("health"), probe("ready")]);
  for (const [id, name, result] of [
    ["health-badge", "health", health],
    ["ready-badge", "ready", ready],
  ]) {
    const badge = document.getElementById(id);
    badge.textContent = `${name}: ${result.text}`;
    badge.classList.toggle("good", result.ok);
    badge.classList.toggle("bad", !result.ok);
  }
}

if (window.top !== window.self) {
  // Framed by another page: refuse to work, so that no page can overlay the console's delete buttons
  // and trick a click (the server sends no frame-ancestors header of its own).
  fill(main, errorBox("The spruce console does not run inside a frame: open it in its own tab."));
} else {
  window.addEventListener("hashchange", render);
  window.addEventListener("console:rerender", render); // a page changed something and shows it again
  setInterval(refreshBadges, 10_000);
  render();
}
