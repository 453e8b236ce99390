"""Text analysis for full-text fields: text in, terms and their positions out.

A field's analyzer is fixed by its schema options (``TextOptions``) and built on tantivy's analysis
chain (Rust): tantivy's ``SimpleTokenizer`` splits on every character that is not alphanumeric, then
tokens longer than ``max_term_len`` bytes (UTF-8) are dropped, the rest lowercased, stop words removed
(the language's Snowball list) and the rest stemmed (Snowball). The same chain analyzes the query's
text, so a query term meets exactly the stored terms it should.

Why tantivy's chain and not a regular expression and PyStemmer in Python: Pinecone's 18 full-text
languages are exactly tantivy's stemmer languages, and its 13 stop-word languages exactly tantivy's
built-in lists (the SDK says the server refuses stop words for the others, naming the language by its
English name, as tantivy's error does), so this reproduces the analysis a Pinecone index performs
more faithfully than anything rewritten would. It is also faster: about 20 us for a 70-token passage
with positions, against 17 us for a regex and PyStemmer without positions or stop words.

With ``ngram`` (exclusive of stemming and stop words), each word is indexed as its character n-grams
(``min_gram`` to ``max_gram`` characters; only those at the word's start with ``prefix_only``), so a
search for "head" finds "headphones"; the query's words are cut the same way.

Positions count tokens before stop words are removed (tantivy keeps the gaps), so a phrase query
``"state of the art"`` matches the text "state of the art" on a field with stop words and not "state
art". Dropped long tokens leave no gap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import tantivy

from spruce.errors import InvalidArgumentError

__all__ = [
    "LANGUAGES",
    "MAX_TERM_LEN",
    "STOP_WORD_LANGUAGES",
    "Analyzer",
    "TextOptions",
    "analyzer_for",
]

LANGUAGES: dict[str, str] = {
    "ar": "arabic",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}
"""The full-text languages, by the short code the SDK sends, with the English names it also accepts."""

STOP_WORD_LANGUAGES = frozenset(
    {"da", "de", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ru", "sv"}
)
"""The languages with a stop-word list (Snowball's, as tantivy ships them)."""

MAX_TERM_LEN = 40
"""Longest term kept, in UTF-8 bytes: a longer token (a hash, a URL run together) is not indexed."""

MAX_GRAM = 16
"""Longest character n-gram a field may index (``ngram.max_gram``)."""


@dataclass(frozen=True, slots=True)
class TextOptions:
    """A full-text field's analysis options, as its schema states them (``full_text_search``)."""

    language: str = "en"
    stemming: bool = False
    stop_words: bool = False
    lowercase: bool = True
    max_term_len: int = MAX_TERM_LEN
    ngram: tuple[int, int, bool] | None = None  # (min_gram, max_gram, prefix_only): grams of each word

    def check(self, field: str) -> None:
        """Refuse options no analyzer can be built for, naming the schema field."""
        if self.language not in LANGUAGES:
            codes = ", ".join(sorted(LANGUAGES))
            raise InvalidArgumentError(
                f"full_text_search.language of field {field!r} must be one of {codes} "
                f"(or their English names), got {self.language!r}",
                field="schema",
            )
        if self.stop_words and self.language not in STOP_WORD_LANGUAGES:
            raise InvalidArgumentError(
                f"full_text_search.stop_words is not supported for {LANGUAGES[self.language]} "
                f"(field {field!r}); stop words exist for "
                + ", ".join(sorted(LANGUAGES[code] for code in STOP_WORD_LANGUAGES)),
                field="schema",
            )
        if self.ngram is not None:
            low, high, _ = self.ngram
            if self.stemming or self.stop_words:
                raise InvalidArgumentError(
                    f"full_text_search.ngram of field {field!r} cannot be combined with stemming or "
                    "stop_words",
                    field="schema",
                )
            if not 1 <= low <= high <= MAX_GRAM:
                raise InvalidArgumentError(
                    f"full_text_search.ngram of field {field!r} needs 1 <= min_gram <= max_gram <= "
                    f"{MAX_GRAM}, got min_gram={low}, max_gram={high}",
                    field="schema",
                )
        if self.stop_words and not self.stemming:
            raise InvalidArgumentError(
                f"full_text_search.stop_words requires stemming=true (field {field!r})", field="schema"
            )


class Analyzer:
    """One field's analysis chain; thread-safe (tantivy's analyzers take no lock of ours)."""

    def __init__(self, options: TextOptions) -> None:
        self.options = options
        language = LANGUAGES[options.language]
        builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        # tantivy's filter keeps tokens strictly shorter than its limit
        builder = builder.filter(tantivy.Filter.remove_long(options.max_term_len + 1))
        if options.lowercase:
            builder = builder.filter(tantivy.Filter.lowercase())
        if options.stop_words:
            builder = builder.filter(tantivy.Filter.stopword(language))
        if options.stemming:
            builder = builder.filter(tantivy.Filter.stemmer(language))
        self._chain = builder.build()
        # prefix and fuzzy terms are normalized (lowercased, long ones dropped) but never stemmed, as in
        # Lucene: "runn*" must match "running", which the stemmer would have cut to "run"
        plain = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
        if options.lowercase:
            plain = plain.filter(tantivy.Filter.lowercase())
        self._plain = plain.build()

    def terms(self, text: str) -> list[str]:
        """The terms of ``text``, in order (no positions: the cheaper call, for queries without phrases)."""
        if self.options.ngram is not None:
            return self.analyze(text)[0]
        got: list[str] = self._chain.analyze(text)
        return got

    def analyze(self, text: str) -> tuple[list[str], list[int]]:
        """The terms of ``text`` and the position of each (token count before stop-word removal; with
        n-grams, every gram of a word at the word's position)."""
        tokens = self._chain.pre_tokenize(text).tokens
        if self.options.ngram is None:
            return [t.text for t in tokens], [t.position for t in tokens]
        low, high, prefix_only = self.options.ngram
        terms: list[str] = []
        positions: list[int] = []
        for token in tokens:
            word = token.text
            for start in range(1 if prefix_only else len(word)):
                for size in range(low, min(high, len(word) - start) + 1):
                    terms.append(word[start : start + size])
                    positions.append(token.position)
        return terms, positions

    def normalize(self, term: str) -> str:
        """A prefix or fuzzy term as the index would hold it before stemming (lowercased)."""
        got: list[str] = self._plain.analyze(term)
        return got[0] if got else ""


_cache: dict[TextOptions, Analyzer] = {}
_cache_mu = threading.Lock()


def analyzer_for(options: TextOptions) -> Analyzer:
    """The shared analyzer for ``options`` (building one costs about 50 us; fields share them)."""
    got = _cache.get(options)
    if got is None:
        with _cache_mu:
            got = _cache.setdefault(options, Analyzer(options))
    return got
