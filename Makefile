# The two commands of the README:
#   make run   - start spruce (the server) on its local store ./spruce-data
#   make test  - install everything the tests need into .venv and run lint, types and the test suite
# Only python3 (>= 3.11, with venv) and make are assumed on the machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The 7.x SDK generation is tested from its own venv: it installs as the same package name as 10.x. Its
# gRPC client (grpcio) is the `grpc` extra; 9.x and 10.x build theirs in and have no such extra.
SDK7   := .venv-sdk7/.installed
# A subset of tests/behaviour/ runs under the 9.x SDK from a third venv, which also holds spruce
# itself (editable, no extras) so that pytest there imports both.
SDK9   := .venv-sdk9/.installed
# The frameworks of tests/frameworks/ (docs/frameworks.md), each in its own venv on the SDK generation it
# pins: langchain-pinecone 0.2.13 needs pinecone<8 (7.3.0, with its asyncio extra), llama-index's
# Pinecone store 0.9.0 pinecone<10 (9.1.0). Every version is pinned, so a CI run installs what was tested.
LANGCHAIN := .venv-langchain/.installed
LLAMA     := .venv-llama/.installed
DATA   ?= ./spruce-data
HOST   ?= 127.0.0.1
PORT   ?= 5080

.PHONY: run demo test lint typecheck install clean proto bench-server bench-grpc bench-smoke bench-real bench-clustered bench-sparse bench-documents

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(SDK7): Makefile
	$(PYTHON) -m venv .venv-sdk7
	.venv-sdk7/bin/python -m pip install --quiet --upgrade pip
	.venv-sdk7/bin/python -m pip install --quiet 'pinecone[grpc]==7.3.0'
	touch $(SDK7)

$(SDK9): pyproject.toml
	$(PYTHON) -m venv .venv-sdk9
	.venv-sdk9/bin/python -m pip install --quiet --upgrade pip
	.venv-sdk9/bin/python -m pip install --quiet 'pinecone==9.1.0' 'pytest>=8.0' 'numpy>=1.26' 'httpx>=0.27' -e .
	touch $(SDK9)

$(LANGCHAIN): Makefile
	$(PYTHON) -m venv .venv-langchain
	.venv-langchain/bin/python -m pip install --quiet --upgrade pip
	.venv-langchain/bin/python -m pip install --quiet 'langchain-pinecone==0.2.13' 'langchain-core==1.8.3' \
		'pinecone[asyncio]==7.3.0' 'pytest==9.2.0'
	touch $(LANGCHAIN)

$(LLAMA): Makefile
	$(PYTHON) -m venv .venv-llama
	.venv-llama/bin/python -m pip install --quiet --upgrade pip
	.venv-llama/bin/python -m pip install --quiet 'llama-index-vector-stores-pinecone==0.9.0' \
		'llama-index-core==0.14.25' 'pinecone==9.1.0' 'pytest==9.2.0'
	touch $(LLAMA)

# The console's browser tests (tests/console) drive Debian's chromium through Playwright, which cannot
# download a browser of its own here: installed with apt when missing (sudo unless root). Without apt
# (not Debian), those tests skip and say why.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends chromium; \
	else echo "no apt-get: install chromium yourself, or the console tests skip"; fi

install: $(STAMP) $(SDK7) $(SDK9) $(LANGCHAIN) $(LLAMA) $(CHROMIUM)

run: $(STAMP)
	$(BIN)/spruce serve --data $(DATA) --host $(HOST) --port $(PORT)

demo: $(STAMP)
	$(BIN)/spruce demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck $(SDK7) $(SDK9) $(LANGCHAIN) $(LLAMA) $(CHROMIUM)
	$(BIN)/python -m pytest -q

bench-server: $(STAMP)
	$(BIN)/python benchmarks/bench_server.py

bench-grpc: $(STAMP)
	$(BIN)/python benchmarks/bench_grpc.py

# Regenerates src/spruce/server/grpc/vector_service_pb2.py{,i} from vector_service.proto. grpcio-tools is
# needed only here (its own venv), never to install or run spruce; the generated files are committed.
PROTO_VENV := .venv-proto
$(PROTO_VENV)/.installed:
	$(PYTHON) -m venv $(PROTO_VENV)
	$(PROTO_VENV)/bin/python -m pip install --quiet 'grpcio-tools==1.85.1'
	touch $@

proto: $(PROTO_VENV)/.installed
	cd src && ../$(PROTO_VENV)/bin/python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. \
		spruce/server/grpc/vector_service.proto

# The issue-4 suite (spruce vs Chroma, Qdrant local, Milvus Lite, LanceDB) in its own venv; see
# benchmarks/README.md. The first run builds and caches the data sets under benchmarks/.cache/.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet 'torch==2.13.0'
	$(BENCH)/bin/python -m pip install --quiet -e '.[bench]'
	touch $@

bench-smoke: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/bench_suite.py --dataset real --subset 20000 --queries 200

bench-real: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/bench_suite.py --dataset real

bench-clustered: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/bench_suite.py --dataset clustered --timeout 3600

# Sparse (BM25) search on the real corpus's texts, next to bm25s and Qdrant local mode (issue 12).
bench-sparse: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/bench_sparse.py

# Full-text search through a document index, next to tantivy used directly and bm25s (issue 13).
bench-documents: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/bench_documents.py

clean:
	rm -rf $(VENV) .venv-sdk7 .venv-sdk9 .venv-langchain .venv-llama $(PROTO_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
