"""A document index's schema: which fields are searched, and how (the 2026-07 Documents API).

A document index is created with a ``schema`` of *searched* fields only (SDK 10.x ``pc.indexes.create``):

* ``string`` with ``full_text_search`` (options ``language``, ``stemming``, ``stop_words``, ``ngram``):
  the field's text is analyzed (``spruce.text.analysis``) and searched by ``text`` and
  ``query_string`` clauses and the ``$match_*`` filters;
* at most one ``dense_vector`` (``dimension`` 1 to 20,000, ``metric`` cosine / dotproduct / euclidean),
  searched by a ``dense_vector`` clause;
* at most one ``sparse_vector`` (no dimension, no metric), searched by a ``sparse_vector`` clause.

Everything else a document carries is metadata, stored and filterable, its type read off the value;
declaring it (``float``, ``boolean``, ``string_list``, a ``string`` with no search configuration,
``filterable``) is refused, as Pinecone refuses it. Integrated embedding (``embed``, ``sparse_embed``,
``store_text``) needs a hosted model and is refused with a message saying so. Field names are 1 to 64
bytes and must not start with ``_`` (``_id`` and the others are reserved).

How a document maps onto the engine's records: ``_id`` is the record id, the dense field's value the
record's vector (a dimension-0 index has none), the sparse field's value its sparse values, and every
other field (full-text ones included, as strings) its metadata, which is what fetch returns.

Stored in the catalog as ``IndexConfig.documents``: ``{"fields": {name: <field as describe reports
it>}}``, with every full-text option resolved (``language``, ``stemming``, ``stop_words``,
``lowercase``, ``max_term_len``, ``ngram`` when set).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spruce.errors import InvalidArgumentError
from spruce.text.analysis import LANGUAGES, MAX_TERM_LEN, Analyzer, TextOptions, analyzer_for
from spruce.types import IndexConfig

__all__ = ["DocumentSchema", "parse_schema", "text_analyzers"]

MAX_FIELD_NAME_BYTES = 64
MAX_DESCRIPTION_BYTES = 256
MAX_DIMENSION = 20_000
MAX_FIELDS = 100
_METRICS = ("cosine", "dotproduct", "euclidean")
_LONG_NAMES = {name: code for code, name in LANGUAGES.items()}
_SERVER_SET = ("lowercase", "max_term_len")


@dataclass(frozen=True, slots=True)
class DocumentSchema:
    """The searched fields of a document index (see the module docstring)."""

    fields: Mapping[str, Mapping[str, Any]]  # as describe reports them
    text: Mapping[str, TextOptions]
    dense: tuple[str, int, str] | None  # name, dimension, metric
    sparse: str | None

    @property
    def ranking(self) -> frozenset[str]:
        """Every searched field: comparison filters must not name one."""
        return frozenset(self.fields)

    def analyzers(self) -> dict[str, Analyzer]:
        return {name: analyzer_for(options) for name, options in self.text.items()}

    def to_json(self) -> dict[str, Any]:
        return {"fields": {name: dict(spec) for name, spec in self.fields.items()}}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> DocumentSchema:
        """Read back what ``to_json`` stored (already validated when the index was created)."""
        return _Reader(stored=True).schema(doc)


def parse_schema(raw: object) -> DocumentSchema:
    """Validate a create request's ``schema`` for a document index; every refusal a 400 naming the field."""
    return _Reader(stored=False).schema(raw)


def text_analyzers(config: IndexConfig) -> dict[str, Analyzer]:
    """The full-text fields of ``config``'s index and their analyzers (none for a vector index)."""
    if config.documents is None:
        return {}
    return DocumentSchema.from_json(config.documents).analyzers()


def _fail(message: str) -> InvalidArgumentError:
    return InvalidArgumentError(message, field="schema")


class _Reader:
    def __init__(self, *, stored: bool) -> None:
        self.stored = stored

    def schema(self, raw: object) -> DocumentSchema:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("fields"), Mapping):
            raise _fail('schema must be an object with a "fields" object')
        fields = raw["fields"]
        if not fields:
            raise _fail("schema.fields must declare at least one searched field")
        if len(fields) > MAX_FIELDS:
            raise _fail(f"schema.fields may declare at most {MAX_FIELDS} fields, got {len(fields)}")
        out: dict[str, dict[str, Any]] = {}
        text: dict[str, TextOptions] = {}
        dense: tuple[str, int, str] | None = None
        sparse: str | None = None
        for name, spec in fields.items():
            self.name(name)
            if not isinstance(spec, Mapping):
                raise _fail(f"schema field {name!r} must be an object, got {type(spec).__name__}")
            kind = spec.get("type")
            if kind == "dense_vector":
                if dense is not None:
                    raise _fail(
                        f"schema declares two dense_vector fields ({dense[0]!r}, {name!r}); "
                        "an index has at most one"
                    )
                out[name] = self.dense(name, spec)
                dense = (name, out[name]["dimension"], out[name]["metric"])
            elif kind == "sparse_vector":
                if sparse is not None:
                    raise _fail(
                        f"schema declares two sparse_vector fields ({sparse!r}, {name!r}); "
                        "an index has at most one"
                    )
                self.only(name, spec, ("type", "description"), "a sparse_vector field")
                out[name] = {"type": "sparse_vector", "description": self.description(name, spec)}
                sparse = name
            elif kind == "string":
                out[name], text[name] = self.string(name, spec)
            elif kind in ("float", "boolean", "string_list", "integer", "semantic_text"):
                raise _fail(
                    f"schema field {name!r}: type {kind!r} cannot be declared; only searched fields "
                    "(string with full_text_search, dense_vector, sparse_vector) go in a schema, and "
                    "metadata is indexed for filtering as documents are upserted"
                )
            else:
                raise _fail(
                    f"schema field {name!r} needs a type of string, dense_vector or sparse_vector, "
                    f"got {kind!r}"
                )
        return DocumentSchema(out, text, dense, sparse)

    def name(self, name: object) -> None:
        if not isinstance(name, str) or not name:
            raise _fail("schema field names must be non-empty strings")
        if len(name.encode()) > MAX_FIELD_NAME_BYTES:
            raise _fail(f"schema field name {name[:70]!r} is longer than {MAX_FIELD_NAME_BYTES} bytes")
        if name.startswith("_"):
            raise _fail(f"schema field name {name!r} is reserved: names starting with '_' are Pinecone's")

    def description(self, name: str, spec: Mapping[str, Any]) -> str | None:
        value = spec.get("description")
        if value is not None and (not isinstance(value, str) or len(value.encode()) > MAX_DESCRIPTION_BYTES):
            raise _fail(f"schema field {name!r}: description must be a string of at most 256 bytes")
        return value

    def only(self, name: str, spec: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
        extra = [key for key in spec if key not in allowed]
        if extra:
            raise _fail(
                f"schema field {name!r}: {', '.join(map(repr, extra))} is not an option of {what} "
                f"(options: {', '.join(k for k in allowed if k != 'type')})"
            )

    def dense(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        self.only(name, spec, ("type", "dimension", "metric", "description"), "a dense_vector field")
        dim = spec.get("dimension")
        if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIMENSION:
            raise _fail(
                f"schema field {name!r}: dimension must be an integer from 1 to {MAX_DIMENSION}, got {dim!r}"
            )
        metric = spec.get("metric")
        if not isinstance(metric, str) or metric.lower() not in _METRICS:
            raise _fail(f"schema field {name!r}: metric must be one of {', '.join(_METRICS)}, got {metric!r}")
        return {
            "type": "dense_vector",
            "dimension": dim,
            "metric": metric.lower(),
            "description": self.description(name, spec),
        }

    def string(self, name: str, spec: Mapping[str, Any]) -> tuple[dict[str, Any], TextOptions]:
        for key in ("embed", "sparse_embed"):
            if spec.get(key) is not None:
                raise _fail(
                    f"schema field {name!r}: {key} (integrated embedding with a hosted model) is not "
                    "supported by spruce; embed the text yourself and declare a dense_vector or "
                    "sparse_vector field"
                )
        if spec.get("filterable"):
            raise _fail(
                f"schema field {name!r}: filterable string fields are not declared; upsert the value in "
                "your documents and it is filterable (a searched field is never filterable)"
            )
        allowed = ("type", "full_text_search", "description", "filterable", "store_text")
        self.only(name, spec, allowed + (_SERVER_SET if self.stored else ()), "a string field")
        if spec.get("store_text") is False:
            raise _fail(f"schema field {name!r}: store_text=false applies only to a field with embed")
        fts = spec.get("full_text_search")
        if fts is None:
            raise _fail(
                f"schema field {name!r}: a string field needs full_text_search (a metadata-only "
                "declaration is not accepted; upsert the value in your documents to filter on it)"
            )
        if not isinstance(fts, Mapping):
            raise _fail(f"schema field {name!r}: full_text_search must be an object")
        keys = ("language", "stemming", "stop_words", "ngram") + (_SERVER_SET if self.stored else ())
        extra = [key for key in fts if key not in keys]
        if extra:
            server = [key for key in extra if key in _SERVER_SET]
            if server:
                raise _fail(
                    f"schema field {name!r}: full_text_search.{server[0]} is set by the server and cannot "
                    "be given on create"
                )
            raise _fail(
                f"schema field {name!r}: full_text_search has no option {extra[0]!r} "
                "(options: language, stemming, stop_words, ngram)"
            )
        language = fts.get("language", "en")
        if isinstance(language, str) and language.lower() in _LONG_NAMES:
            language = _LONG_NAMES[language.lower()]
        elif isinstance(language, str):
            language = language.lower()
        else:
            raise _fail(f"schema field {name!r}: full_text_search.language must be a string")
        flags = {}
        for key in ("stemming", "stop_words"):
            value = fts.get(key, False)
            if value is None:
                value = False
            if not isinstance(value, bool):
                raise _fail(f"schema field {name!r}: full_text_search.{key} must be true or false")
            flags[key] = value
        ngram = self.ngram(name, fts.get("ngram"))
        options = TextOptions(
            language=language,
            stemming=flags["stemming"],
            stop_words=flags["stop_words"],
            max_term_len=int(fts.get("max_term_len", MAX_TERM_LEN)),
            ngram=ngram,
        )
        options.check(name)
        described: dict[str, Any] = {
            "language": options.language,
            "stemming": options.stemming,
            "stop_words": options.stop_words,
            "lowercase": options.lowercase,
            "max_term_len": options.max_term_len,
        }
        if ngram is not None:
            described["ngram"] = {"min_gram": ngram[0], "max_gram": ngram[1], "prefix_only": ngram[2]}
        return (
            {
                "type": "string",
                "full_text_search": described,
                "store_text": True,
                "description": self.description(name, spec),
            },
            options,
        )

    def ngram(self, name: str, raw: object) -> tuple[int, int, bool] | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise _fail(f"schema field {name!r}: full_text_search.ngram must be an object")
        low, high, prefix = raw.get("min_gram"), raw.get("max_gram"), raw.get("prefix_only", False)
        for key, value in (("min_gram", low), ("max_gram", high)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _fail(f"schema field {name!r}: full_text_search.ngram.{key} must be an integer")
        if not isinstance(prefix, bool):
            raise _fail(f"schema field {name!r}: full_text_search.ngram.prefix_only must be true or false")
        assert isinstance(low, int) and isinstance(high, int)
        return low, high, prefix
