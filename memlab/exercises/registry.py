"""Every exercise generator by name, and :func:`make`, which builds one."""

from __future__ import annotations

from ..errors import reject
from . import mobility, monitoring, numeric, pitfalls, usage, why
from .core import BadAnswer, Exercise

__all__ = ["GENERATORS", "make"]

#: Every exercise generator by name.
GENERATORS = {
    **numeric.NUMERIC,
    **usage.USAGE,
    **pitfalls.PITFALL_EXERCISES,
    **monitoring.MONITORING,
    **mobility.MOBILITY,
    **why.WHY,
}


def make(kind: str, seed: int) -> Exercise:
    """The exercise ``kind`` (a key of :data:`GENERATORS`) for ``seed``."""
    if kind not in GENERATORS:
        raise BadAnswer(f"no exercise kind {kind!r}; known: {', '.join(GENERATORS)}")
    if seed.__class__ is not int:
        raise reject(BadAnswer, seed, f"exercise seed {seed!r} must be an int")
    return GENERATORS[kind](seed)
