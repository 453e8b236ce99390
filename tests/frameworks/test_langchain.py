"""langchain-pinecone 0.2.13 (``PineconeVectorStore``, on SDK 7.3.0) against a real server: the checks
are ``langchain_suite.py``, run inside ``.venv-langchain`` (``SPRUCE_LANGCHAIN_PYTHON`` may name another
interpreter holding the same pins)."""

from __future__ import annotations

from suite_runner import run_suite, venv_python


def test_langchain_pinecone_vector_store() -> None:
    python = venv_python(".venv-langchain", "SPRUCE_LANGCHAIN_PYTHON")
    run_suite(python, "langchain_suite.py", "langchain-pinecone", "0.2.13")
