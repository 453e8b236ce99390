"""The Documents API (2026-07) of one document index: ``index.documents.upsert / search / fetch / delete /
update / list``, with SDK 10.2's names, arguments and rules.

Documents are the index's records (``spruce.engine.docrecords``), so every guarantee of the vector API
holds unchanged: one durable log write per call (a rejected batch writes nothing), read-your-writes,
exact counts, and full-text statistics over live documents only (``spruce.text.search``). Full-text
fields are analyzed here, before the index lock is taken; replay analyzes them again from the logged
text.

What differs from the vector API, as Pinecone has it: the namespace is required (``__default__`` names
the default one); search takes ``score_by`` clauses (``spruce.engine.docsearch``); filters may use the
text-match operators on full-text fields (not in delete and update, which refuse them) and must not
compare a searched field; fetch and update select by ids or by filter; deletes and updates by filter
report how many documents they matched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from spruce import limits
from spruce.api import DocumentPlane
from spruce.docschema import DocumentSchema
from spruce.doctypes import (
    BatchUpsertResult,
    DeleteDocumentsResponse,
    Document,
    DocumentPages,
    FetchDocumentsResponse,
    ListDocumentsResponse,
    ListedDocument,
    SearchDocumentsResponse,
    UpdateDocumentsResponse,
    UpsertDocumentsResponse,
)
from spruce.engine.docrecords import (
    ID,
    REMOVE,
    DocumentRow,
    Patch,
    parse_document,
    parse_patch,
    render,
    row_of,
    stack_rows,
    wanted_fields,
)
from spruce.engine.docsearch import parse_score_by, run_plan
from spruce.engine.namespace import Namespace
from spruce.engine.pagination import decode_token, encode_token
from spruce.engine.state import IndexState
from spruce.errors import InvalidArgumentError
from spruce.filter import Filter, parse_filter
from spruce.storage.ops import Op, Upsert
from spruce.text.index import Analyzed
from spruce.types import (
    Pagination,
    SparseRows,
    Usage,
    validate_id,
    validate_id_prefix,
    validate_ids,
    validate_int,
    validate_limit,
    validate_namespace,
    validate_top_k,
)

__all__ = ["Documents"]

T = TypeVar("T")


def _units(n: int) -> Usage:
    return Usage(read_units=max(1, n // 10))


def _namespace(value: object) -> str:
    """Document calls name their namespace; ``__default__`` is the default one."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            "namespace must be a non-empty string (use '__default__' for the default namespace)",
            field="namespace",
        )
    return validate_namespace(value)


def _public(ns: str) -> str:
    return ns or limits.DEFAULT_NAMESPACE_ALIAS


def _list_of(value: object, field: str, lo: int, hi: int | None = None) -> Sequence[Any]:
    """``value`` as a non-string list of ``lo`` to ``hi`` (None: any number of) items."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InvalidArgumentError(f"{field} must be a list", field=field)
    if len(value) < lo or (hi is not None and len(value) > hi):
        limit = f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise InvalidArgumentError(f"{field} must hold {limit} items, got {len(value)}", field=field)
    return value


class Documents(DocumentPlane):
    """``index.documents`` of a document index (see the module docstring)."""

    def __init__(self, state: IndexState, schema: DocumentSchema) -> None:
        self._st = state
        self._schema = schema
        self._analyzers = state.text_fields
        self._text = frozenset(schema.text)

    def __repr__(self) -> str:
        return f"Documents(index={self._st.config.name!r})"

    @property
    def schema(self) -> DocumentSchema:
        return self._schema

    # ------------------------------------------------------------ helpers

    def _filter(self, raw: object, *, text_match: bool, required: str | None) -> Filter | None:
        if raw is None:
            if required is not None:
                raise InvalidArgumentError(required, field="filter")
            return None
        if not isinstance(raw, Mapping) or (required is not None and not raw):
            raise InvalidArgumentError(required or "filter must be an object", field="filter")
        return parse_filter(
            raw, text_fields=self._text, ranking_fields=self.schema.ranking, text_match=text_match
        )

    def _upsert_op(self, ns: str, rows: Sequence[DocumentRow]) -> Upsert:
        """The log record of ``rows``, with the full-text fields analyzed already (``Upsert.analyzed``)."""
        analyzed: dict[str, list[Analyzed | None]] = {
            name: [
                analyzer.analyze(value) if isinstance(value := r.fields.get(name), str) else None
                for r in rows
            ]
            for name, analyzer in self._analyzers.items()
        }
        sparse = [r.sparse for r in rows]
        return Upsert(
            ns,
            [r.id for r in rows],
            stack_rows(self.schema, rows),
            [r.fields for r in rows],
            SparseRows.from_rows(sparse) if any(s is not None for s in sparse) else None,
            analyzed=analyzed,
        )

    def _read(self, ns_name: str, fn: Callable[[Namespace], T]) -> T | None:
        """``fn`` of the namespace under the read lock (None if there is no such namespace)."""

        def run() -> T | None:
            ns = self._st.namespaces.get(ns_name)
            return None if ns is None else fn(ns)

        return self._st.read(run)

    def _render(self, ns: Namespace, rid: str, wanted: frozenset[str] | None) -> dict[str, Any]:
        block, row = ns.locate(rid)
        return render(self.schema, block, row, rid, wanted)

    # ------------------------------------------------------------ writes

    def upsert(
        self, *, namespace: object, documents: object, timeout: float | None = None
    ) -> UpsertDocumentsResponse:
        """Insert or replace whole documents (at most 1,000 per call), as one durable write. The 2 MB cap
        on a request is the server's (a 413), as for vector upserts: in-process there is no request."""
        ns = _namespace(namespace)
        rows = self._rows(_list_of(documents, "documents", 1, limits.UPSERT_MAX_RECORDS), 0)
        self._st.check_writable()
        lsn = self._st.write_upsert(self._upsert_op(ns, rows))
        return UpsertDocumentsResponse(upserted_count=len(rows), lsn=lsn)

    def _rows(self, docs: Sequence[Any], offset: int) -> list[DocumentRow]:
        """One request's documents checked (``documents[offset + i]`` in messages), ids unique in it."""
        rows = [parse_document(self.schema, raw, f"documents[{offset + i}]") for i, raw in enumerate(docs)]
        seen: dict[str, int] = {}
        for i, r in enumerate(rows, start=offset):
            if r.id in seen:
                raise InvalidArgumentError(
                    f"documents[{i}]._id {r.id!r} repeats documents[{seen[r.id]}]._id; ids must be unique "
                    "within a request",
                    field=f"documents[{i}]._id",
                )
            seen[r.id] = i
        return rows

    def batch_upsert(
        self,
        *,
        namespace: object,
        documents: object,
        batch_size: object = 50,
        max_concurrency: int | None = None,
        show_progress: bool = True,
        timeout: float | None = None,
        total_timeout: float | None = None,
    ) -> BatchUpsertResult:
        """``upsert`` in slices of ``batch_size`` (each one durable write), as the SDK's ``batch_upsert``.
        Every slice is checked before the first is written, so a bad document anywhere writes nothing;
        ``max_concurrency``, ``show_progress`` and the timeouts mean nothing in-process."""
        ns = _namespace(namespace)
        size = validate_int(batch_size, 1, limits.UPSERT_MAX_RECORDS, field="batch_size")
        docs = _list_of(documents, "documents", 1)
        slices = [self._rows(docs[i : i + size], i) for i in range(0, len(docs), size)]
        self._st.check_writable()
        lsn = self._st.lsn
        for rows in slices:
            lsn = self._st.write_upsert(self._upsert_op(ns, rows))
        n, b = len(docs), len(slices)
        return BatchUpsertResult(
            total_item_count=n,
            successful_item_count=n,
            total_batch_count=b,
            successful_batch_count=b,
            lsn=lsn,
        )

    def delete(
        self,
        *,
        namespace: object,
        ids: object = None,
        filter: object = None,
        delete_all: bool = False,
        timeout: float | None = None,
    ) -> DeleteDocumentsResponse:
        """By ids, by filter (no text-match operators; reports ``matched_records``), or everything."""
        ns_name = _namespace(namespace)
        if not isinstance(delete_all, bool):
            raise InvalidArgumentError("delete_all must be true or false", field="delete_all")
        if sum((ids is not None, delete_all, filter is not None)) != 1:
            raise InvalidArgumentError("delete needs exactly one of ids, filter or delete_all", field="ids")
        if delete_all:
            return DeleteDocumentsResponse(lsn=self._st.drop_namespace(ns_name))
        if ids is not None:
            id_list = validate_ids(ids, max_count=limits.DELETE_MAX_IDS)
            return DeleteDocumentsResponse(lsn=self._st.delete_ids(ns_name, id_list))
        flt = self._filter(filter, text_match=False, required="delete by filter needs a non-empty filter")
        lsn, matched = self._st.delete_matching(ns_name, flt)
        return DeleteDocumentsResponse(lsn=lsn, matched_records=matched)

    def update(
        self,
        *,
        namespace: object,
        documents: object = None,
        filter: object = None,
        set_fields: object = None,
        remove_fields: object = None,
        timeout: float | None = None,
    ) -> UpdateDocumentsResponse:
        """Partial updates: per document (``documents``: ``_id``, fields to set, ``_remove_fields``) or
        every document matching ``filter`` (``set_fields`` and/or ``remove_fields``). Fields not named
        keep their values; ids that do not exist are skipped. The patched documents are logged whole."""
        ns_name = _namespace(namespace)
        if documents is not None:
            if filter is not None or set_fields is not None or remove_fields is not None:
                raise InvalidArgumentError(
                    "update takes either documents, or filter with set_fields/remove_fields, not both",
                    field="documents",
                )
            patches = self._patches(documents)

            def resolve_ids() -> tuple[list[Op], None]:
                ns = self._st.namespaces.get(ns_name)
                rows = [] if ns is None else self._patched(ns, list(patches.items()))
                return ([self._upsert_op(ns_name, rows)] if rows else []), None

            return UpdateDocumentsResponse(lsn=self._st.write(resolve_ids)[0])
        if filter is None:
            raise InvalidArgumentError("update needs documents or a filter", field="documents")
        flt = self._filter(filter, text_match=False, required="update by filter needs a non-empty filter")
        if set_fields is None and remove_fields is None:
            raise InvalidArgumentError(
                "update by filter needs set_fields or remove_fields", field="set_fields"
            )
        if set_fields is not None and not isinstance(set_fields, Mapping):
            raise InvalidArgumentError("set_fields must be an object", field="set_fields")
        patch = parse_patch(self.schema, set_fields or {}, remove_fields, "set_fields")

        def resolve_filter() -> tuple[list[Op], int]:
            ns = self._st.namespaces.get(ns_name)
            if ns is None:
                return [], 0
            ids = sorted(ns.matching_ids(flt))
            rows = self._patched(ns, [(rid, (patch, "set_fields")) for rid in ids])
            return ([self._upsert_op(ns_name, rows)] if rows else []), len(ids)

        lsn, matched = self._st.write(resolve_filter)
        return UpdateDocumentsResponse(lsn=lsn, matched_records=matched)

    def _patches(self, documents: object) -> dict[str, tuple[Patch, str]]:
        docs = _list_of(documents, "documents", 1, limits.UPSERT_MAX_RECORDS)
        out: dict[str, tuple[Patch, str]] = {}
        for i, raw in enumerate(docs):
            where = f"documents[{i}]"
            if not isinstance(raw, Mapping):
                raise InvalidArgumentError(f"{where} must be an object", field=where)
            if ID not in raw:
                raise InvalidArgumentError(f"{where} has no _id", field=f"{where}._id")
            rid = validate_id(raw[ID], field=f"{where}._id")
            if rid in out:
                raise InvalidArgumentError(
                    f"{where}._id {rid!r} is patched twice in one request", field=f"{where}._id"
                )
            values = {k: v for k, v in raw.items() if k not in (ID, REMOVE)}
            patch = parse_patch(self.schema, values, raw.get(REMOVE), where)
            if not values and not patch.remove:
                raise InvalidArgumentError(f"{where} sets and removes nothing", field=where)
            out[rid] = (patch, where)
        return out

    def _patched(self, ns: Namespace, patches: Sequence[tuple[str, tuple[Patch, str]]]) -> list[DocumentRow]:
        """The live documents among ``patches`` with their patch applied (under the write lock)."""
        rows = []
        for rid, (patch, where) in patches:
            if rid not in ns.loc:
                continue
            block, row = ns.locate(rid)
            rows.append(patch.apply(self.schema, row_of(self.schema, rid, block, row), where))
        return rows

    # ------------------------------------------------------------ reads

    def search(
        self,
        *,
        namespace: object,
        score_by: object,
        top_k: object,
        include_fields: object = None,
        filter: object = None,
        timeout: float | None = None,
    ) -> SearchDocumentsResponse:
        """The ``top_k`` best documents by ``score_by`` that pass ``filter``, best first (ties by id)."""
        ns_name = _namespace(namespace)
        plan = parse_score_by(score_by, self.schema, self._analyzers)
        k = validate_top_k(top_k)
        wanted = wanted_fields(include_fields, default_all=False)
        flt = self._filter(filter, text_match=True, required=None)
        found = self._read(ns_name, lambda ns: (ns, ns.snapshot()))
        matches: list[Document] = []
        if found is not None:
            ns, at = found
            for hit in run_plan(plan, ns, at, self._analyzers, flt, k):
                doc = render(self.schema, hit.block, hit.row, hit.id, wanted)
                doc["_score"] = hit.score
                matches.append(Document(doc))
        return SearchDocumentsResponse(
            matches=matches, namespace=_public(ns_name), usage=_units(len(matches))
        )

    def fetch(
        self,
        *,
        namespace: object,
        ids: object = None,
        filter: object = None,
        include_fields: object = None,
        pagination_token: object = None,
        limit: object = None,
        timeout: float | None = None,
    ) -> FetchDocumentsResponse:
        """By ids (missing ones left out), or a page of the documents matching ``filter`` in id order."""
        ns_name = _namespace(namespace)
        wanted = wanted_fields(include_fields, default_all=True)
        if (ids is None) == (filter is None):
            raise InvalidArgumentError("fetch needs exactly one of ids or filter", field="ids")
        if ids is not None:
            if pagination_token is not None:
                raise InvalidArgumentError(
                    "pagination_token applies to a fetch by filter only", field="pagination_token"
                )
            id_list = validate_ids(ids, max_count=limits.FETCH_MAX_IDS)

            def by_ids(ns: Namespace) -> dict[str, Document]:
                return {rid: Document(self._render(ns, rid, wanted)) for rid in id_list if rid in ns.loc}

            docs = self._read(ns_name, by_ids) or {}
            return FetchDocumentsResponse(documents=docs, namespace=_public(ns_name), usage=_units(len(docs)))
        flt = self._filter(filter, text_match=True, required="fetch by filter needs a non-empty filter")
        lim = validate_limit(
            limit, limits.FETCH_BY_METADATA_LIMIT_DEFAULT, limits.FETCH_BY_METADATA_LIMIT_MAX
        )
        after = decode_token(pagination_token)

        def by_filter(ns: Namespace) -> tuple[dict[str, Document], str | None]:
            page, more = ns.page_matching(flt, after, lim)
            nxt = encode_token(page[-1]) if more else None
            return {rid: Document(self._render(ns, rid, wanted)) for rid in page}, nxt

        docs, nxt = self._read(ns_name, by_filter) or ({}, None)
        return FetchDocumentsResponse(
            documents=docs,
            namespace=_public(ns_name),
            usage=_units(len(docs)),
            pagination=Pagination(next=nxt) if nxt else None,
        )

    def list_page(
        self,
        *,
        namespace: object,
        prefix: object = None,
        limit: object = None,
        pagination_token: object = None,
        timeout: float | None = None,
    ) -> ListDocumentsResponse:
        """One page of document ids (with ``prefix``) in id order."""
        ns_name, pre, lim = self._list_args(namespace, prefix, limit)
        return self._list_page(ns_name, pre, lim, decode_token(pagination_token))

    def _list_args(self, namespace: object, prefix: object, limit: object) -> tuple[str, str, int]:
        ns_name = _namespace(namespace)
        pre = validate_id_prefix(prefix)
        return ns_name, pre, validate_limit(limit, limits.LIST_LIMIT_DEFAULT, limits.LIST_LIMIT_MAX)

    def _list_page(self, ns_name: str, pre: str, lim: int, after: str | None) -> ListDocumentsResponse:
        ids, more = self._read(ns_name, lambda ns: ns.list_ids(pre, after, lim)) or ([], False)
        return ListDocumentsResponse(
            documents=[ListedDocument(id=i) for i in ids],
            namespace=_public(ns_name),
            usage=Usage(read_units=1),
            pagination=Pagination(next=encode_token(ids[-1])) if more else None,
        )

    def list(
        self,
        *,
        namespace: object,
        prefix: object = None,
        limit: object = None,
        pagination_token: object = None,
        timeout: float | None = None,
    ) -> DocumentPages:
        """Every document id, a page at a time (the SDK's paginator: iterate, ``pages()``, ``to_list()``).
        Arguments are checked now, pages read as they are needed."""
        ns_name, pre, lim = self._list_args(namespace, prefix, limit)
        decode_token(pagination_token)

        def page(token: str | None) -> ListDocumentsResponse:
            return self._list_page(ns_name, pre, lim, decode_token(token))

        start = pagination_token if isinstance(pagination_token, str) and pagination_token else None
        return DocumentPages(page, start)
