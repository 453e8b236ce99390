"""Take the screenshots of the console in docs/console/*.png (shown in the README and docs/console.md).

    .venv/bin/python docs/console/screenshots.py

Starts a throwaway ``spruce serve`` (small flushes, so that the storage report has segments to show),
fills it through the official SDK with a few hundred made-up film records, and drives the system
Chromium through Playwright as the browser tests do (``tests/console/console_browser.py``). Nothing is
fetched from the network; the data directory and browser profile are temporary.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "tests" / "console")]

from console_browser import launch, missing, open_console  # noqa: E402
from pinecone import Pinecone, ServerlessSpec  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from spruce_server_proc import ServerProcess  # noqa: E402

OUT = Path(__file__).resolve().parent
SPEC = ServerlessSpec(cloud="aws", region="us-east-1")
GENRES = ("drama", "comedy", "thriller", "documentary", "animation")
WORDS = ("night", "river", "glass", "summer", "iron", "paper", "winter", "north", "silent", "golden")


def populate(pc: Pinecone) -> None:
    """Three indexes; ``films`` holds 1,200 records in two namespaces and a few in the default one."""
    pc.create_index(
        name="films", dimension=8, metric="cosine", spec=SPEC, tags={"team": "search", "env": "demo"}
    )
    pc.create_index(
        name="support-tickets", dimension=384, metric="dotproduct", spec=SPEC, deletion_protection="enabled"
    )
    pc.create_index(name="keywords", vector_type="sparse", metric="dotproduct", spec=SPEC)
    idx = pc.Index(name="films")
    rng = random.Random(2026)
    for namespace, count in (("catalog", 1000), ("archive", 200)):
        records = []
        for i in range(count):
            title = f"The {rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
            metadata = {
                "title": title,
                "genre": GENRES[i % len(GENRES)],
                "year": 1970 + (i * 7) % 55,
                "rating": round(rng.uniform(4, 9.5), 1),
                "languages": rng.sample(["en", "fr", "de", "ja", "es"], 2),
            }
            records.append((f"film-{i:04d}", [round(rng.gauss(0, 1), 4) for _ in range(8)], metadata))
        for start in range(0, count, 200):
            idx.upsert(vectors=records[start : start + 200], namespace=namespace)
    idx.upsert(vectors=[(f"draft-{i}", [round(rng.gauss(0, 1), 4) for _ in range(8)]) for i in range(12)])


def shoot(page: Page, name: str) -> None:
    page.wait_for_timeout(150)  # the badges' probe settles
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print("wrote", OUT / f"{name}.png")


def main() -> int:
    reason = missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", ["--flush-rows", "300"]).start()
        try:
            pc = Pinecone(api_key="demo", host=server.url)
            populate(pc)
            time.sleep(2)  # let the background work flush and build graphs, so storage has segments
            with sync_playwright() as pw:
                ctx = launch(pw, Path(tmp) / "profile")
                page = ctx.new_page()

                open_console(page, server.url)
                expect(page.locator("#index-table")).to_be_visible()
                shoot(page, "indexes")

                open_console(page, server.url, "/index/films")
                expect(page.locator("#ns-stats")).to_be_visible()
                shoot(page, "index")

                open_console(page, server.url, "/index/films/records?ns=catalog")
                page.fill("#list-prefix", "film-00")
                page.press("#list-prefix", "Enter")
                page.get_by_role("button", name="film-0007", exact=True).click()
                expect(page.locator("#fetch-metadata")).to_be_visible()
                shoot(page, "records")

                open_console(page, server.url, "/index/films/query?ns=catalog")
                page.fill("#q-vector", "[0.3, -1.2, 0.8, 0.05, 1.1, -0.4, 0.2, 0.9]")
                page.fill("#q-filter", '{"genre": {"$in": ["drama", "thriller"]}, "year": {"$gte": 1990}}')
                page.fill("#q-topk", "8")
                page.press("#q-topk", "Enter")
                expect(page.locator("#query-table")).to_be_visible()
                shoot(page, "query")

                open_console(page, server.url, "/index/films/delete?ns=catalog")
                page.fill("#del-filter", '{"genre": "documentary", "year": {"$lt": 1980}}')
                page.press("#del-filter", "Control+Enter")
                expect(page.locator("#del-filter-confirm")).to_be_visible()
                shoot(page, "delete")
                ctx.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
