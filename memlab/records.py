"""Records: small typed rows the model hands out (page-walk steps, 8237A bus
cycles, DMA mappings, ...).

A record is a dataclass with named fields. So that code written against the
plain dicts and tuples these records replace keeps working, a record also
answers ``rec["field"]``, ``rec[i]`` (fields in order), ``"field" in rec``
(the field exists and is not None) and ``rec.get("field")``.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from enum import Enum
from typing import Any

__all__ = ["Record", "StrEnum"]


class StrEnum(str, Enum):
    """An enum whose members are also their strings: ``SlabState.CPU ==
    "cpu"`` and ``f"{state}"`` prints ``cpu`` (Python 3.11's StrEnum, for 3.10)."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)


class Record:
    """Mixin for dataclasses: dict- and tuple-style reading of the fields."""

    __slots__ = ()

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            try:
                return getattr(self, key)
            except AttributeError:
                raise KeyError(key) from None
        return getattr(self, fields(self)[key].name)  # type: ignore[arg-type]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and getattr(self, key, None) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None)
        return default if value is None else value

    def keys(self) -> list[str]:
        return [f.name for f in fields(self)]  # type: ignore[arg-type]

    def _asdict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]
