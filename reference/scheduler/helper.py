"""Shared arithmetic of the score plugins: upstream's helper.DefaultNormalizeScore.

Contract: ``default_normalize_score(scores, reverse=)`` rescales the raw scores of
one plugin over the feasible nodes to [0, MAX_NODE_SCORE] with Go's integer
division (which truncates toward zero): ``score * MAX_NODE_SCORE // highest``.
When every score is 0 the scores stay 0, or become MAX_NODE_SCORE when
``reverse`` is set; with ``reverse`` a rescaled score ``s`` becomes
``MAX_NODE_SCORE - s`` (fewer is better). It returns a new dict, in the input's
order, and never mutates its argument.
"""

from __future__ import annotations

from collections.abc import Mapping

# framework.MaxNodeScore and MinNodeScore.
MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


def go_div(a: int, b: int) -> int:
    """Go's integer division: the quotient truncated toward zero (Python's // floors)."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def default_normalize_score(
    scores: Mapping[str, int], *, reverse: bool = False, max_priority: int = MAX_NODE_SCORE
) -> dict[str, int]:
    """The scores rescaled to [0, max_priority] (reversed when ``reverse``)."""
    highest = max(scores.values(), default=0)
    if highest == 0:
        return {name: (max_priority if reverse else score) for name, score in scores.items()}
    normalized = {}
    for name, score in scores.items():
        scaled = go_div(max_priority * score, highest)
        normalized[name] = max_priority - scaled if reverse else scaled
    return normalized
