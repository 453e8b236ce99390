"""What the Documents API hands back (``spruce.engine.documents``), shaped like SDK 10.x's models.

A :class:`Document` is an open mapping, as the SDK's is: ``doc.id``, ``doc.score``, ``doc["title"]`` and
``doc.title`` read the same JSON object the REST face sends (``_id``, ``_score`` and the fields asked
for). The envelopes are dataclasses read as ``r.matches`` or ``r["matches"]``; the writes also carry the
log sequence number they were written at (``lsn``), as the vector API's do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from spruce.types import Pagination, Usage, _Result

__all__ = [
    "BatchUpsertResult",
    "DeleteDocumentsResponse",
    "Document",
    "DocumentPages",
    "FetchDocumentsResponse",
    "ListDocumentsResponse",
    "ListedDocument",
    "SearchDocumentsResponse",
    "UpdateDocumentsResponse",
    "UpsertDocumentsResponse",
]


class Document:
    """One document as JSON would carry it: ``_id``, ``_score`` (search only) and its fields."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def id(self) -> str:
        value: str = self._data["_id"]
        return value

    @property
    def score(self) -> float | None:
        value: float | None = self._data.get("_score")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def keys(self) -> Iterator[str]:
        return iter(self._data)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Document):
            return self._data == other._data
        return isinstance(other, Mapping) and self._data == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Document({self._data!r})"


@dataclass(slots=True)
class UpsertDocumentsResponse(_Result):
    upserted_count: int
    lsn: int


@dataclass(slots=True)
class BatchUpsertResult(_Result):
    """``batch_upsert``'s outcome, with the SDK's ``BatchResult`` counters. In-process every slice is
    checked before the first is written and a failed write raises, so nothing ever counts as failed;
    ``lsn`` is the last slice's."""

    total_item_count: int
    successful_item_count: int
    total_batch_count: int
    successful_batch_count: int
    lsn: int
    failed_item_count: int = 0
    failed_batch_count: int = 0
    errors: list[Any] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


@dataclass(slots=True)
class SearchDocumentsResponse(_Result):
    matches: list[Document]
    namespace: str
    usage: Usage


@dataclass(slots=True)
class FetchDocumentsResponse(_Result):
    documents: dict[str, Document]
    namespace: str
    usage: Usage
    pagination: Pagination | None = None


@dataclass(slots=True)
class DeleteDocumentsResponse(_Result):
    """``matched_records``: how many documents a delete by filter matched (None for ids and delete_all,
    as the SDK reports it)."""

    lsn: int
    matched_records: int | None = None


@dataclass(slots=True)
class UpdateDocumentsResponse(_Result):
    """``matched_records``: how many documents an update by filter matched (None for per-id patches)."""

    lsn: int
    matched_records: int | None = None


@dataclass(slots=True)
class ListedDocument(_Result):
    id: str

    @property
    def _id(self) -> str:
        return self.id


@dataclass(slots=True)
class ListDocumentsResponse(_Result):
    documents: list[ListedDocument]
    namespace: str
    usage: Usage
    pagination: Pagination | None = None


@dataclass
class DocumentPages:
    """The SDK's ``Paginator`` over a document list: iterate for the ids, ``pages()`` for the pages,
    ``to_list()`` for all of them; pages are read one at a time, as they are needed."""

    fetch_page: Callable[[str | None], ListDocumentsResponse]
    pagination_token: str | None = None

    def pages(self) -> Iterator[ListDocumentsResponse]:
        token = self.pagination_token
        while True:
            page = self.fetch_page(token)
            yield page
            if page.pagination is None:
                return
            token = page.pagination.next

    def __iter__(self) -> Iterator[ListedDocument]:
        for page in self.pages():
            yield from page.documents

    def to_list(self) -> list[ListedDocument]:
        return list(self)
