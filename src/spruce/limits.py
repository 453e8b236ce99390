"""Every limit spruce enforces, in one place, with Pinecone's values (reference section 7.1).

Validation code and error messages read these constants, so a message always states the limit that is
actually enforced.
"""

from __future__ import annotations

INDEX_NAME_MAX = 45
DIMENSION_MIN = 1
DIMENSION_MAX = 20_000
ID_MAX_LEN = 512
NAMESPACE_MAX_LEN = 512
METADATA_MAX_BYTES = 40_960
UPSERT_MAX_RECORDS = 1_000
FETCH_MAX_IDS = 1_000
DELETE_MAX_IDS = 1_000
TOP_K_MIN = 1
TOP_K_MAX = 10_000
LIST_LIMIT_MAX = 100
LIST_LIMIT_DEFAULT = 100
FETCH_BY_METADATA_LIMIT_MAX = 10_000
FETCH_BY_METADATA_LIMIT_DEFAULT = 100
SCAN_FACTOR_MIN = 0.5  # Pinecone's query scanFactor range (scales the default HNSW ef)
SCAN_FACTOR_MAX = 4.0
TAGS_MAX = 20
TAG_KEY_MAX = 80
TAG_VALUE_MAX = 120
UPSERT_MAX_BODY_BYTES = 2 * 1024 * 1024
SPARSE_MAX_NNZ = 1_000  # non-zero values per sparse vector (records and queries)
SPARSE_INDEX_MAX = 2**32 - 1  # sparse indices are uint32
SPARSE_TOP_K_MAX = 1_000  # top_k of a query on a sparse index
METRICS = ("cosine", "euclidean", "dotproduct")
VECTOR_TYPES = ("dense", "sparse")
DEFAULT_NAMESPACE = ""
DEFAULT_NAMESPACE_ALIAS = "__default__"
