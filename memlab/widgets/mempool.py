"""The mempool dashboard: a kernel mempool under memory pressure.

Create a pool, allocate with different GFP flags, free, switch fault
injection on, and watch ``curr_nr`` (:class:`memlab.plots.MempoolDrawing`),
the waiting tasks and the backing allocator."""

from __future__ import annotations

import ipywidgets as W

from ..machine import Machine
from ..mempool import MempoolWaiter, PoolEvent
from ..plots import MempoolDrawing
from .base import Dashboard, number, picture, pre, row

__all__ = ["MempoolDashboard"]

_KINDS = {
    "slab pool: bio (256-byte objects)": "slab",
    "kmalloc pool: 512 bytes": "kmalloc",
    "page pool: order 0": "page",
}


class MempoolDashboard(Dashboard):
    """Interactive kernel mempool on a small machine.

    ``MempoolDashboard(min_nr=4, seed=0)``. Controls: pool kind and min_nr
    (*mempool_create*), GFP flags and *mempool_alloc*, an element and
    *mempool_free* (*free oldest*), fault injection of the backing allocator
    (off / always / every Nth call / with a probability, seeded),
    *mempool_resize*, *mempool_destroy*.
    """

    def __init__(self, min_nr=4, seed=0, ram="32MiB"):
        super().__init__("Press mempool_create.")
        self.seed = seed
        self.ram = ram
        self.pool = None
        self.drawing = MempoolDrawing()
        self.held = []
        self.waiters = []
        self._task_no = 0

        self.kind = W.Dropdown(options=list(_KINDS), description="pool", layout=W.Layout(width="330px"))
        self.min_nr = number(min_nr, "min_nr", 0, 64, "the dashboard's pools keep 0 to 64 elements in reserve")
        self.create_button = W.Button(
            description="mempool_create", button_style="primary", layout=W.Layout(width="160px")
        )
        self.gfp = W.Dropdown(
            options=["GFP_NOIO", "GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT"],
            description="gfp",
            layout=W.Layout(width="230px"),
        )
        self.alloc_button = W.Button(
            description="mempool_alloc", button_style="primary", layout=W.Layout(width="160px")
        )
        self.element = W.Dropdown(options=[], description="element", layout=W.Layout(width="300px"))
        self.free_button = W.Button(description="mempool_free", layout=W.Layout(width="160px"))
        self.free_oldest_button = W.Button(description="free oldest")
        self.fault_mode = W.Dropdown(
            options=["off", "always", "every Nth call", "probability %"],
            description="faults",
            layout=W.Layout(width="230px"),
        )
        self.fault_value = number(2, "N / %", 1, 100, "every Nth call, or a probability in percent")
        self.spare_reclaim = W.Checkbox(
            value=False, description="spare allocations that may reclaim", indent=False, layout=W.Layout(width="260px")
        )
        self.fault_button = W.Button(description="apply faults")
        self.resize_to = number(min_nr, "new min_nr", 1, 64, "mempool_resize() needs new_min_nr > 0 (BUG_ON)")
        self.resize_button = W.Button(description="mempool_resize", layout=W.Layout(width="160px"))
        self.destroy_button = W.Button(
            description="mempool_destroy", button_style="danger", layout=W.Layout(width="160px")
        )
        self.image = picture(self.drawing)
        self.state_text = W.HTML()

        self.wire(
            [
                (self.create_button, self._on_create),
                (self.alloc_button, self._on_alloc),
                (self.free_button, self._on_free),
                (self.free_oldest_button, self._on_free_oldest),
                (self.fault_button, self._on_faults),
                (self.resize_button, self._on_resize),
                (self.destroy_button, self._on_destroy),
            ]
        )
        controls = W.VBox(
            [
                row(self.kind, self.min_nr, self.create_button),
                row(self.gfp, self.alloc_button, self.element, self.free_button, self.free_oldest_button),
                row(self.fault_mode, self.fault_value, self.spare_reclaim, self.fault_button),
                row(self.resize_to, self.resize_button, self.destroy_button),
            ]
        )
        self.children = [controls, self.status, self.image, self.state_text]
        self._guard(self._on_create)()

    def __repr__(self):
        return f"MempoolDashboard(min_nr {self.min_nr.value}, seed {self.seed})"

    # ---------------------------------------------------------------- model
    def _create(self):
        self.machine = m = Machine(ram=self.ram, cpus=2)
        kind = self.pool_kind = _KINDS[self.kind.value]
        n = self.value_of(self.min_nr)
        if kind == "slab":
            self.pool = m.mempool_create_slab_pool(n, m.kmem_cache_create("bio", 256))
        elif kind == "kmalloc":
            self.pool = m.mempool_create_kmalloc_pool(n, 512)
        else:
            self.pool = m.mempool_create_page_pool(n, 0)
        self.held, self.waiters, self._task_no = [], [], 0

    def refresh(self):
        pool = self.pool
        for w in [w for w in self.waiters if w.state == "done"]:
            self.waiters.remove(w)
            self.held.append(w.element)
        self.image.value = self.drawing.update(pool).png()
        fault = self.fault_point
        waiting = ", ".join(w.task for w in pool.wait) or "none"
        s = pool.stats
        lines = [
            f"{pool!r}",
            f"reserve (top last): {[pool.describe(e) for e in pool.elements]}",
            f"handed out: {len(pool.outstanding)}    tasks asleep on pool->wait: {waiting}",
            f"from backing allocator {s['from_backing']}, from reserve {s['from_reserve']}, NULL {s['null']}, "
            f"slept {s['slept']}",
            f"freed into reserve {s['freed_to_reserve']}, freed to backing allocator {s['freed_to_backing']}",
            f"backing allocator: {fault!r}",
        ]
        self.state_text.value = pre("\n".join(lines))
        options = [(f"{pool.describe(e)}", i) for i, e in enumerate(self.held)][-200:]
        self.element.options = options
        self.element.value = options[-1][1] if options else None

    @property
    def fault_point(self):
        """The fault-injection point behind the live pool's backing allocator
        (failslab for slab and kmalloc pools, fail_page_alloc for page pools)."""
        return self.machine.fail_page_alloc if self.pool_kind == "page" else self.machine.failslab

    def _free_index(self, i):
        element = self.held[i]
        pool = self.pool
        woke = list(pool.wait)
        to_reserve = pool.stats["freed_to_reserve"]
        self.machine.mempool_free(element, pool)
        self.held.pop(i)
        done = [w.task for w in woke if w.state == "done"]
        still = [w.task for w in woke if w.state != "done"]
        self.refresh()
        # read the counters, not the last history event: a woken sleeper's retry is logged after the free
        if pool.stats["freed_to_reserve"] > to_reserve:
            where = f"into the reserve (curr_nr was below min_nr {pool.min_nr})"
        else:
            where = f"back to the backing allocator (the reserve was full: curr_nr = min_nr = {pool.min_nr})"
        extra = ""
        if done:
            extra += f"; woke {', '.join(done)}, who took an element"
        if still:
            extra += f"; {', '.join(still)} retried and sleeps again"
        self.ok(f"mempool_free({pool.describe(element)}): {where}{extra}")

    # ------------------------------------------------------------ callbacks
    def _on_create(self):
        self._create()
        self.refresh()
        self.ok(f"mempool_create: {self.pool.curr_nr} elements pre-allocated into the reserve.")

    def _on_alloc(self):
        self._task_no += 1
        task = f"kworker/0:{self._task_no}"
        result = self.machine.mempool_alloc(self.pool, self.gfp.value, task=task)
        event = self.pool.last_event.event
        if isinstance(result, MempoolWaiter):
            self.waiters.append(result)
            msg = (
                f"mempool_alloc({self.gfp.value}): backing allocator failed twice and the reserve is empty; "
                f"{task} sleeps on pool->wait until an element is freed"
            )
            kind = "info"
        elif result is None:
            msg = (
                f"mempool_alloc({self.gfp.value}) returned NULL: backing allocator failed, reserve empty, and "
                f"the caller may not sleep"
            )
            kind = "error"
        else:
            self.held.append(result)
            src = "the reserve" if event is PoolEvent.RESERVE else "the backing allocator"
            msg = f"mempool_alloc({self.gfp.value}) -> {self.pool.describe(result)} from {src}"
            kind = "ok"
        self.refresh()
        self.report(msg, kind)

    def _on_free(self):
        if self.element.value is None:
            self.error("No element handed out.")
            return
        self._free_index(self.element.value)

    def _on_free_oldest(self):
        if not self.held:
            self.error("No element handed out.")
            return
        self._free_index(0)

    def _on_faults(self):
        fault = self.fault_point
        mode, value = self.fault_mode.value, self.value_of(self.fault_value)
        spare = self.spare_reclaim.value
        if mode == "off":
            fault.disable()
        elif mode == "always":
            fault.configure(probability=100, times=-1, seed=self.seed, ignore_gfp_reclaim=spare, min_order=0)
        elif mode == "every Nth call":
            fault.configure(
                probability=100, interval=value, times=-1, seed=self.seed, ignore_gfp_reclaim=spare, min_order=0
            )
        else:
            fault.configure(probability=value, times=-1, seed=self.seed, ignore_gfp_reclaim=spare, min_order=0)
        self.refresh()
        self.ok(f"{fault!r}")

    def _on_resize(self):
        new_min_nr = self.value_of(self.resize_to)
        self.machine.mempool_resize(self.pool, new_min_nr)
        self.refresh()
        self.ok(f"mempool_resize({new_min_nr}): curr_nr {self.pool.curr_nr}")

    def _on_destroy(self):
        self.machine.mempool_destroy(self.pool)
        self.ok("mempool_destroy: the reserve went back to the backing allocator; press mempool_create for a new pool.")
        self.refresh()
