"""Nearest-neighbour search behind one small interface. Exact search is the oracle for the rest."""

from spruce.index.exact import exact_scores, higher_is_better, top_candidates

__all__ = ["exact_scores", "higher_is_better", "top_candidates"]
