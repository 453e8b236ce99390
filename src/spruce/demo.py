"""``spruce demo``: the README's SDK snippet, run against a throwaway server, so a newcomer sees it work.

It starts ``spruce serve`` as a child process on a temporary store and a free loopback port, runs the
snippet with the official ``pinecone`` SDK (a test dependency, not a runtime one: without it the demo says
how to install it), prints what each call returned, and stops the server.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import warnings
from typing import Any

__all__ = ["run_demo"]

_READY = "spruce listening on "


def run_demo() -> int:
    if importlib.util.find_spec("pinecone") is None:
        print(
            "spruce demo drives the server with the official SDK: pip install 'pinecone==10.2.0'",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="spruce-demo-") as data:
        cmd = [
            sys.executable,
            "-m",
            "spruce.cli",
            "serve",
            "--data",
            data,
            "--port",
            "0",
            "--log-level",
            "warning",
        ]
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            if not line.startswith(_READY):
                print(f"spruce demo: the server did not start: {line}{proc.stderr.read()}", file=sys.stderr)
                return 1
            url = line[len(_READY) :].strip()
            print(f"server: {url} (data in {data})")
            _snippet(url)
        finally:
            proc.terminate()
            proc.wait(30)
    return 0


def _snippet(url: str) -> None:
    warnings.simplefilter("ignore")
    from pinecone import Pinecone, ServerlessSpec

    def show(label: str, value: Any) -> None:
        print(f"\n>>> {label}\n{value}")

    pc = Pinecone(api_key="anything", host=url)
    pc.create_index(
        name="docs", dimension=4, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    idx = pc.Index(name="docs")
    films = [
        ("a", [0.1, 0.2, 0.3, 0.4], {"genre": "documentary", "year": 2019}),
        ("b", [0.2, 0.1, 0.4, 0.3], {"genre": "drama", "year": 2021}),
        ("c", [0.4, 0.3, 0.2, 0.1], {"genre": "documentary", "year": 2015}),
    ]
    show('idx.upsert(vectors=films, namespace="films")', idx.upsert(vectors=films, namespace="films"))
    show(
        'idx.query(vector=[0.1, 0.2, 0.3, 0.4], top_k=2, namespace="films", include_metadata=True)',
        idx.query(vector=[0.1, 0.2, 0.3, 0.4], top_k=2, namespace="films", include_metadata=True).matches,
    )
    idx.delete(filter={"genre": "documentary", "year": 2019}, namespace="films")
    left = sorted(str(item.id) for page in idx.list(namespace="films") for item in page.vectors)
    show('idx.delete(filter={"genre": "documentary", "year": 2019}, namespace="films"); remaining ids', left)
    show("idx.describe_index_stats()", idx.describe_index_stats())
