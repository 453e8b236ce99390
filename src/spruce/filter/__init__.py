"""Pinecone's metadata filter language: parse once, evaluate vectorised, check against a plain oracle.

Three pieces, each in its own module, each usable alone:

* :func:`parse_filter` (``parse``) turns decoded JSON into an immutable :class:`Filter` tree, enforcing every
  rule and limit of the language and raising :class:`~spruce.errors.InvalidArgumentError` otherwise. Only
  the parser validates; evaluators trust the tree.
* :class:`MetadataColumns` (``columns``) keeps many records' metadata as typed, sparse, append-only numpy
  columns per field, with per-field inverted postings (``postings``) built lazily and extended as rows
  are appended. It answers a :class:`Filter` as a mask (:meth:`~MetadataColumns.evaluate`), as sorted
  row numbers (:meth:`~MetadataColumns.matching_rows`), as an estimated count from postings sizes alone
  (:meth:`~MetadataColumns.estimate`), or over just a candidate set of rows
  (:meth:`~MetadataColumns.evaluate_rows`), choosing postings or scans per condition by estimated size.
* :func:`reference_matches` (``reference``) evaluates the *raw* JSON against one record with plain Python.
  It shares no code with the other two, which is what makes it a useful oracle for the property tests.

The semantics follow Pinecone serverless where it differs from MongoDB: a record lacking a field fails
every operator except ``$exists: false`` (``$ne``/``$nin`` included); bools are not numbers; numbers are
float64; a list of strings matches ``$eq``/``$in`` when any element does and ``$ne``/``$nin`` when none does.
"""

from spruce.filter.columns import MetadataColumns
from spruce.filter.parse import MAX_CONDITIONS, MAX_DEPTH, MAX_IN_VALUES, parse_filter
from spruce.filter.reference import reference_matches
from spruce.filter.tree import And, Exists, Filter, In, Node, Or, Range, TextMatch

__all__ = [
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "And",
    "Exists",
    "Filter",
    "In",
    "MetadataColumns",
    "Node",
    "Or",
    "Range",
    "TextMatch",
    "parse_filter",
    "reference_matches",
]
