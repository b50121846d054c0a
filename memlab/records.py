"""Records: small typed rows the model hands out (page-walk steps, 8237A bus
cycles, DMA mappings, ...), and string enums.

A record is a class with ``__slots__`` naming its fields and an ``__init__``
that sets them (written out: records are created on hot paths, and this keeps
``import memlab`` light). So that code written against the plain dicts and
tuples these records replace keeps working, a record also answers
``rec["field"]``, ``rec[i]`` (fields in order), ``"field" in rec`` (the field
is set and not None), ``rec.get("field")`` and ``rec.keys()``.
"""

from __future__ import annotations

from enum import Enum

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing at run time)
if TYPE_CHECKING:
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
    """Base of records: equality, repr and dict- and tuple-style reading of
    the fields named in ``__slots__``."""

    __slots__: tuple[str, ...] = ()

    def keys(self) -> list[str]:
        return list(self.__slots__)

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            if key not in self.__slots__:
                raise KeyError(key)
            return getattr(self, key)
        return getattr(self, self.__slots__[key])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.__slots__ and getattr(self, key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None) if key in self.__slots__ else None
        return default if value is None else value

    def _asdict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dicts they replace

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"
