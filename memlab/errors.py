"""The memlab error hierarchy.

Every mistake a student can make with the simulated machine raises a
subclass of :class:`MemlabError` whose message names the offending value and
the rule it broke.  After any such error the model is exactly as it was
before the call (operations validate first, then mutate).

Kernel: the real kernel mostly answers bad input with WARN_ON, a NULL
return, an errno or a BUG(); memlab turns each of those into an exception so a
notebook can show the reason instead of silently corrupting state.
"""

__all__ = [
    "MemlabError",
    "BadOrder",
    "BadFree",
    "OutOfMemory",
    "BadGFP",
    "BadSize",
]


class MemlabError(Exception):
    """Base class of every error memlab raises on purpose."""


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
