"""Full-text search: analysis (``analysis``), Lucene query strings (``lucene``), per-block indexes
(``index``) and BM25 scoring (``search``). Knows nothing of the engine: ``engine/`` hands it blocks'
postings and live rows."""
