"""The memlab error hierarchy: every error class of the package, in one place.

Every mistake a student can make with the simulated machine raises a
subclass of :class:`MemlabError` whose message names the offending value and
the rule it broke. After any such error the model is exactly as it was
before the call (operations validate first, then mutate).

Kernel: the real kernel mostly answers bad input with WARN_ON, a NULL
return, an errno or a BUG(); memlab turns each of those into an exception so a
notebook can show the reason instead of silently corrupting state.

This module is the bottom of the layer rule (docs/ARCHITECTURE.md): it
imports nothing from memlab, and every other module takes its errors from
here (the subsystems re-export theirs under their old names).
"""

from __future__ import annotations

__all__ = [
    "MemlabError",
    "BadOrder",
    "BadFree",
    "OutOfMemory",
    "BadGFP",
    "BadSize",
    "BadCache",
    "SlabCorruption",
    "SyscallError",
    "SegmentationFault",
    "DmaError",
    "BadPool",
    "PoolExhausted",
    "BadAnswer",
    "wrong_type",
    "reject",
]


class MemlabError(Exception):
    """Base class of every error memlab raises on purpose."""


# ------------------------------------------------------------ page allocator
class BadOrder(MemlabError, ValueError):
    """An allocation order outside 0..MAX_PAGE_ORDER (or not an integer).

    Kernel: mm/page_alloc.c __alloc_pages_noprof() does
    ``if (WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp)) return NULL;``
    """


class BadFree(MemlabError, ValueError):
    """A free that does not match a live allocation: double free, a PFN that
    was never handed out, a PFN inside a block rather than its head, or the
    wrong order.

    Kernel: the real __free_pages() trusts its caller; a wrong order silently
    corrupts the free lists (with CONFIG_DEBUG_VM, bad_page() reports it).
    """


class OutOfMemory(MemlabError, MemoryError):
    """No free block large enough (or every zone is below its watermark).

    Kernel: mm/page_alloc.c __alloc_pages_slowpath() would now reclaim,
    compact and finally call the OOM killer; memlab models none of those
    and fails the request instead.
    """


class BadGFP(MemlabError, ValueError):
    """A GFP flag expression memlab does not recognise."""


class BadSize(MemlabError, ValueError):
    """A size string or number that cannot be parsed or is out of range."""


# ---------------------------------------------------------------------- slab
class BadCache(MemlabError, ValueError):
    """A cache request SLUB refuses: bad name or size, destroy with objects
    left, an object freed into the wrong cache."""


class SlabCorruption(MemlabError):
    """slub_debug found overwritten red zones, padding or poison. ``.report``
    holds the kernel-style report (also appended to ``machine.kernel_log``)."""

    def __init__(self, message: str, report: str) -> None:
        super().__init__(message)
        self.report = report


# ------------------------------------------------------------ address spaces
class SyscallError(MemlabError):
    """A system call failed: ``.errno`` is the kernel's name (EINVAL, ENOMEM,
    EFAULT, ...), the message the reason."""

    def __init__(self, errno: str, message: str) -> None:
        super().__init__(f"{errno}: {message}")
        self.errno = errno


class SegmentationFault(MemlabError):
    """The kernel would send SIGSEGV: ``.si_code`` is SEGV_MAPERR (no mapping)
    or SEGV_ACCERR (mapping forbids the access), ``.address`` the fault address."""

    def __init__(self, address: int, si_code: str, message: str) -> None:
        super().__init__(f"SIGSEGV ({si_code}) at {address:#x}: {message}")
        self.address = address
        self.si_code = si_code


# ----------------------------------------------------------------------- DMA
class DmaError(MemlabError, ValueError):
    """A DMA programming or API rule broken (the message names the rule)."""


# --------------------------------------------------------------------- pools
class BadPool(MemlabError, ValueError):
    """A pool used against its rules (destroy with elements out, bad min_nr...)."""


class PoolExhausted(MemlabError, MemoryError):
    """A user-space pool has no free object left."""


# ----------------------------------------------------------------- exercises
class BadAnswer(MemlabError, ValueError):
    """An answer that cannot be read (not a whole number, for example)."""


_TYPE_VARIANTS: dict[type, type] = {}


def wrong_type(cls: type, message: str) -> MemlabError:
    """The error for an argument of the wrong type: an instance of ``cls``
    (a MemlabError subclass, so ``except BadSize`` still catches it) that is
    also a ``TypeError``, as Python's own functions raise for wrong types,
    so ``except TypeError`` works too. Use: ``raise wrong_type(BadSize, "...")``."""
    variant = _TYPE_VARIANTS.get(cls)
    if variant is None:
        variant = type(cls.__name__, (cls, TypeError), {"__module__": cls.__module__, "__doc__": cls.__doc__})
        _TYPE_VARIANTS[cls] = variant
    return variant(message)


def reject(cls: type, value: object, message: str) -> MemlabError:
    """The error for a bad argument ``value``: :func:`wrong_type` when it
    is not an int at all (a float, None, a string, a bool, a numpy
    integer), else a plain ``cls``. Use: ``raise reject(BadSize, size, "...")``."""
    return wrong_type(cls, message) if value.__class__ is not int else cls(message)
