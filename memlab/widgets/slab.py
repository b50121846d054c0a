"""The slab allocator dashboard: create caches, allocate and free objects,
kmalloc a size, shrink, and watch the slabs, the pages under them
(:class:`memlab.plots.SlabDrawing`) and /proc/slabinfo change."""

from __future__ import annotations

import random

import ipywidgets as W

from .. import procfs
from ..machine import Machine
from ..plots import SlabDrawing
from ..slub import SLAB_HWCACHE_ALIGN
from ..units import format_size
from .base import Dashboard, number, picture, pre, row

__all__ = ["SlabDashboard"]


class SlabDashboard(Dashboard):
    """Interactive SLUB on a small machine.

    ``SlabDashboard(machine=None, ram="20MiB", seed=0)``. Controls: create a
    cache (name, size, alignment, SLAB_HWCACHE_ALIGN); pick a cache;
    *kmem_cache_alloc*, *kmem_cache_free* of a chosen object, *free random*;
    *kmalloc* a size (the status says which class served it) and *kfree*
    the last one; *shrink*; *destroy*.
    """

    def __init__(self, machine=None, ram="20MiB", seed=0):
        super().__init__("Create a cache, or pick one and press kmem_cache_alloc.")
        self.machine = machine if machine is not None else Machine(ram=ram, cpus=2)
        self.slub = self.machine.slub
        self.seed = seed
        self.rng = random.Random(seed)
        self.objects = {}  # cache name -> [addresses]
        self.kmallocs = []  # [(address, size)]
        self.drawing = SlabDrawing()

        self.name = W.Text(value="my_cache", description="name", layout=W.Layout(width="200px"))
        self.size = number(100, "size", None, None)  # kmem_cache_create() judges it
        self.align = W.Dropdown(
            options=[0, 8, 16, 32, 64, 128, 256], value=0, description="align", layout=W.Layout(width="140px")
        )
        self.hwcache = W.Checkbox(
            value=False, description="SLAB_HWCACHE_ALIGN", indent=False, layout=W.Layout(width="180px")
        )
        self.create_button = W.Button(
            description="kmem_cache_create", button_style="primary", layout=W.Layout(width="170px")
        )
        self.cache = W.Dropdown(options=[], description="cache", layout=W.Layout(width="240px"))
        self.alloc_button = W.Button(
            description="kmem_cache_alloc", button_style="primary", layout=W.Layout(width="170px")
        )
        self.object = W.Dropdown(options=[], description="object", layout=W.Layout(width="290px"))
        self.free_button = W.Button(description="kmem_cache_free", layout=W.Layout(width="170px"))
        self.free_random_button = W.Button(description="free random")
        self.kmalloc_size = number(100, "bytes", None, None)  # kmalloc() judges it
        self.kmalloc_button = W.Button(description="kmalloc", button_style="info")
        self.kfree_button = W.Button(description="kfree last")
        self.shrink_button = W.Button(description="kmem_cache_shrink", layout=W.Layout(width="170px"))
        self.destroy_button = W.Button(
            description="kmem_cache_destroy", button_style="danger", layout=W.Layout(width="170px")
        )
        self.image = picture(self.drawing)
        self.legend = W.HTML(
            '<span style="font-size:12px">Slabs: <b style="color:#0072B2">&#9632;</b> object in '
            'use, <b style="color:#9cc9e6">&#9632;</b> free. Pages: white free, grey other '
            'allocations, blue slab pages, <b style="color:#D55E00">&#9632;</b> slabs of the '
            "chosen cache.</span>"
        )
        self.slabinfo = W.HTML()

        self.wire(
            [
                (self.create_button, self._on_create),
                (self.alloc_button, self._on_alloc),
                (self.free_button, self._on_free),
                (self.free_random_button, self._on_free_random),
                (self.kmalloc_button, self._on_kmalloc),
                (self.kfree_button, self._on_kfree),
                (self.shrink_button, self._on_shrink),
                (self.destroy_button, self._on_destroy),
            ]
        )
        self._on_cache_change = self._guard(lambda change: self.refresh())
        self.cache.observe(self._on_cache_change, names="value")

        rows = W.VBox(
            [
                row(self.name, self.size, self.align, self.hwcache, self.create_button),
                row(self.cache, self.alloc_button, self.object, self.free_button, self.free_random_button),
                row(self.kmalloc_size, self.kmalloc_button, self.kfree_button, self.shrink_button, self.destroy_button),
            ]
        )
        self.children = [
            rows,
            self.status,
            self.image,
            self.legend,
            W.HTML("<b>/proc/slabinfo</b> (caches with slabs, and the chosen one)"),
            self.slabinfo,
        ]
        self._refresh_caches("kmalloc-96")

    def __repr__(self):
        return f"SlabDashboard({self.machine!r}, seed {self.seed})"

    # ---------------------------------------------------------------- model
    @property
    def current(self):
        name = self.cache.value
        return self.slub.find_cache(name) if name else None

    def _refresh_caches(self, select=None):
        names = [c.name for c in reversed(self.slub.caches)]
        user = [n for n in names if not n.startswith(("kmalloc-", "dma-kmalloc-"))]
        kmalloc = [n for n in names if n.startswith("kmalloc-") and "-" not in n[len("kmalloc-") :]]
        options = user + sorted(kmalloc, key=lambda n: self.slub.find_cache(n).object_size)
        chosen = select if select in options else (self.cache.value if self.cache.value in options else None)
        self.cache.unobserve(self._on_cache_change, names="value")
        self.cache.options = options
        self.cache.value = chosen or (options[0] if options else None)
        self.cache.observe(self._on_cache_change, names="value")
        self.refresh()

    def refresh(self):
        """Redraw the slabs, the page map and slabinfo from the model."""
        cache = self.current
        zone_name = self._zone_of(cache)
        self.image.value = self.drawing.update(self.machine, cache, zone_name).png()
        text = procfs.slabinfo(self.machine).splitlines(keepends=True)
        keep = [
            line for line in text[2:] if line.split()[0] == (cache.name if cache else None) or int(line.split()[2]) > 0
        ]
        self.slabinfo.value = pre("".join(text[:2] + keep), wrap=False)
        objs = self.objects.get(cache.name, []) if cache else []
        chosen = self.object.value
        options = [(f"{a:#x}", a) for a in objs[-300:]]
        self.object.options = options
        if options:
            self.object.value = chosen if chosen in objs[-300:] else options[-1][1]

    def _zone_of(self, cache):
        if cache is not None and cache.nr_slabs:
            return self.machine.zone_of_pfn(cache.slabs()[0].page.pfn).name
        zones = self.machine.zones
        return "DMA32" if "DMA32" in zones else list(zones)[-1]

    # ------------------------------------------------------------ callbacks
    def _on_create(self):
        flags = SLAB_HWCACHE_ALIGN if self.hwcache.value else 0
        cache = self.machine.kmem_cache_create(
            self.name.value.strip(), self.value_of(self.size), align=self.align.value, flags=flags
        )
        self._refresh_caches(cache.name)
        self.ok(
            f"kmem_cache_create({cache.name!r}, {cache.object_size}): objects of {cache.size} bytes "
            f"(align {cache.align}), {cache.objperslab} per slab of {cache.pagesperslab} page"
            f"{'s' if cache.order else ''}; {cache.explain_geometry()[-1]}"
        )

    def _on_alloc(self):
        cache = self.current
        if cache is None:
            self.error("Pick or create a cache first.")
            return
        slabs_before = cache.nr_slabs
        addr = self.machine.kmem_cache_alloc(cache)
        self.objects.setdefault(cache.name, []).append(addr)
        self.refresh()
        self.object.value = addr
        new = (
            f"; a new slab of {cache.pagesperslab} page{'s' if cache.order else ''} came from the buddy "
            f"allocator (pfn {cache.cpu_slab.page.pfn})"
            if cache.nr_slabs > slabs_before
            else ""
        )
        self.ok(f"kmem_cache_alloc({cache.name}) -> {addr:#x}{new}")

    def _on_free(self):
        addr = self.object.value
        if addr is None:
            self.error("No object of this cache to free.")
            return
        self._free(self.current, addr)

    def _on_free_random(self):
        cache = self.current
        objs = self.objects.get(cache.name, []) if cache else []
        if not objs:
            self.error("No object of this cache to free.")
            return
        self._free(cache, objs[self.rng.randrange(len(objs))])

    def _free(self, cache, addr):
        pages_before = self.machine.nr_free_pages
        self.machine.kmem_cache_free(cache, addr)
        self.objects[cache.name].remove(addr)
        self.kmallocs = [(a, n) for a, n in self.kmallocs if a != addr]  # freed here: not for "kfree last"
        self.refresh()
        back = self.machine.nr_free_pages - pages_before
        extra = f"; the slab was empty and went back to the buddy allocator ({back} pages)" if back else ""
        self.ok(f"kmem_cache_free({cache.name}, {addr:#x}){extra}")

    def _on_kmalloc(self):
        size = self.value_of(self.kmalloc_size)
        cache = self.slub.kmalloc_cache_for(size) if size > 0 else None
        addr = self.machine.kmalloc(size)
        self.kmallocs.append((addr, size))
        if cache is None:
            self.ok(
                f"kmalloc({size}) -> {addr:#x}: above 8 KiB, so whole pages from the buddy allocator "
                f"({format_size(self.machine.ksize(addr))})"
            )
            self.refresh()
            return
        self.objects.setdefault(cache.name, []).append(addr)
        self._refresh_caches(cache.name)
        waste = cache.object_size - size
        self.ok(
            f"kmalloc({size}) -> {addr:#x} from {cache.name}: ksize {cache.object_size}, {waste} byte"
            f"{'s' if waste != 1 else ''} wasted inside the object"
        )

    def _on_kfree(self):
        if not self.kmallocs:
            self.error("Nothing from kmalloc to free.")
            return
        addr, size = self.kmallocs[-1]
        self.machine.kfree(addr)
        self.kmallocs.pop()
        for objs in self.objects.values():
            if addr in objs:
                objs.remove(addr)
        self.refresh()
        self.ok(f"kfree({addr:#x}) ({size} bytes)")

    def _on_shrink(self):
        cache = self.current
        released = self.machine.kmem_cache_shrink(cache)
        self.refresh()
        self.ok(f"kmem_cache_shrink({cache.name}): {released} pages back to the buddy allocator")

    def _on_destroy(self):
        cache = self.current
        self.machine.kmem_cache_destroy(cache)
        self.objects.pop(cache.name, None)
        self._refresh_caches()
        self.ok(f"kmem_cache_destroy({cache.name}): gone")
