"""llama-index-vector-stores-pinecone 0.9.0 (``PineconeVectorStore``, on SDK 9.1.0) against a real
server: the checks are ``llama_suite.py``, run inside ``.venv-llama`` (``SPRUCE_LLAMA_PYTHON`` may name
another interpreter holding the same pins)."""

from __future__ import annotations

from suite_runner import run_suite, venv_python


def test_llama_index_pinecone_vector_store() -> None:
    python = venv_python(".venv-llama", "SPRUCE_LLAMA_PYTHON")
    run_suite(python, "llama_suite.py", "llama-index-vector-stores-pinecone", "0.9.0")
