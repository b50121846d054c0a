"""Fault injection: make allocations fail on purpose, as the kernel's
fail_page_alloc and failslab do (Documentation/fault-injection/).

Kernel: lib/fault-inject.c should_fail_ex(), mm/fail_page_alloc.c
should_fail_alloc_page(), mm/failslab.c should_failslab(). The attributes keep
their debugfs names: ``probability`` (percent), ``interval`` (only every
Nth eligible call may fail), ``times`` (how many failures at most; -1 for no
limit), ``space``, ``ignore_gfp_reclaim`` (``ignore-gfp-wait``: leave
allocations that may sleep alone), ``min_order`` (fail_page_alloc only).
The random choice is seeded. Not modelled: task filters, stack-trace filters,
``fail_nth``.
"""

import random

from .errors import BadSize, reject
from .gfp import GFP

__all__ = ["FaultAttr"]


class FaultAttr:
    """One fault-injection point (``machine.fail_page_alloc`` or
    ``machine.failslab``); off until :meth:`configure` gives it a probability."""

    def __init__(self, name, min_order=0):
        self.name = name
        self.probability = 0
        self.interval = 1
        self.times = 1
        self.space = 0
        self.ignore_gfp_reclaim = True
        self.min_order = min_order
        self.count = 0
        self.failures = 0
        self._rng = random.Random(0)

    @property
    def enabled(self):
        return self.probability > 0 and self.times != 0

    def configure(
        self, probability=100, interval=1, times=-1, space=0, seed=0, ignore_gfp_reclaim=True, min_order=None
    ):
        """Arm the fault point. ``probability=100, interval=1``: every
        eligible call fails; ``interval=N``: every Nth; ``probability=p``:
        p % of them (seeded). ``times`` caps the failures (-1: no cap)."""
        for label, value, low in (("probability", probability, 0), ("interval", interval, 1), ("space", space, 0)):
            if value.__class__ is not int or value < low or (label == "probability" and value > 100):
                raise reject(BadSize, value, f"{self.name}: {label} {value!r} out of range")
        if times.__class__ is not int or times < -1:
            raise reject(BadSize, times, f"{self.name}: times {times!r} must be -1 (no limit) or >= 0")
        self.probability, self.interval, self.times, self.space = probability, interval, times, space
        self.ignore_gfp_reclaim = bool(ignore_gfp_reclaim)
        if min_order is not None:
            self.min_order = min_order
        self.count = 0
        self.failures = 0
        self._rng = random.Random(seed)
        return self

    def disable(self):
        self.probability = 0

    def should_fail(self, gfp_mask, size, order=0):
        """Kernel: should_fail_alloc_page() / should_failslab() then
        should_fail_ex(). True if this allocation must fail."""
        if order < self.min_order or gfp_mask & GFP["__GFP_NOFAIL"]:
            return False
        if self.ignore_gfp_reclaim and gfp_mask & GFP["__GFP_DIRECT_RECLAIM"]:
            return False
        if self.probability == 0 or self.times == 0:
            return False
        if self.space > size:
            self.space -= size
            return False
        if self.interval > 1:
            self.count += 1
            if self.count % self.interval:
                return False
        if self.probability <= self._rng.randrange(100):
            return False
        if self.times != -1:
            self.times -= 1
        self.failures += 1
        return True

    def __repr__(self):
        state = (
            f"probability {self.probability}%, interval {self.interval}, times {self.times}" if self.enabled else "off"
        )
        return f"<{self.name}: {state}, {self.failures} failures injected>"
