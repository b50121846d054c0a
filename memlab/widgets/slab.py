"""The slab allocator dashboard: create caches, allocate and free objects,
kmalloc a size, shrink, and watch the slabs, the pages under them and
/proc/slabinfo change."""

import random

import ipywidgets as W

from .. import plots, procfs
from ..slub import SLAB_HWCACHE_ALIGN
from ..units import format_size
from ._common import guarded, pre, status_html

__all__ = ["SlabDashboard"]


class _SlabView:
    """The slab rows and the page map in one figure. Axes, ticks and labels
    that only depend on the cache and zone are drawn once and cached; a click
    redraws the two images and the changing texts on top (a few tens of ms)."""

    ROWS = 12

    def __init__(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(11, 3.8), dpi=72)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.13, right=0.985, bottom=0.17, top=0.88, wspace=0.22)
        self.key = None

    def _setup(self, machine, cache, zone_name):
        import numpy as np
        from matplotlib.colors import ListedColormap
        from matplotlib.ticker import MaxNLocator

        fig = self.fig
        fig.clear()
        self.ax_slab, self.ax_map = fig.subplots(1, 2, width_ratios=[1.6, 1])
        ax = self.ax_slab
        width = cache.objperslab if cache is not None else 1
        self.width = width
        cmap = ListedColormap([plots.NO_OBJECT_COLOR, plots.FREE_COLOR, plots.USED_COLOR])
        self.slab_img = ax.imshow(np.zeros((self.ROWS, width), dtype=np.uint8), cmap=cmap, vmin=0, vmax=2,
                                  aspect="auto", interpolation="nearest", extent=(0, width, self.ROWS, 0))
        if width <= 128:
            ax.vlines(range(1, width), 0, self.ROWS, colors="white", linewidth=0.4)
        ax.hlines(range(1, self.ROWS), 0, width, colors="black", linewidth=0.4)
        ax.set_yticks([])
        ax.set_xlabel(f"object index ({cache.size}-byte slots, {cache.objperslab} per {cache.pagesperslab}-page "
                      f"slab)" if cache is not None else "no cache")
        self.row_labels = [ax.text(-0.01, r + 0.5, "", transform=ax.get_yaxis_transform(), ha="right",
                                   va="center", fontsize="small") for r in range(self.ROWS)]
        self.slab_title = ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom")
        zone = machine.zones[zone_name]
        n = zone.spanned_pages
        self.map_width = plots._grid_width(n)
        self.map_rows = -(-n // self.map_width)
        cmap2 = ListedColormap(["#FFFFFF", plots.ALLOCATED_COLOR[:3], "#56B4E9", "#D55E00"])
        self.map_img = self.ax_map.imshow(np.zeros((self.map_rows, self.map_width), dtype=np.uint8), cmap=cmap2,
                                          vmin=0, vmax=3, aspect="auto", interpolation="nearest",
                                          extent=(0, self.map_width, self.map_rows, 0))
        self.ax_map.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_map.set_title(f"zone {zone.name}: pfn {zone.zone_start_pfn}..{zone.zone_end_pfn - 1}",
                              fontsize="medium")
        self.ax_map.set_xlabel(f"page within row ({self.map_width} per row)")
        spines = list(self.ax_slab.spines.values()) + list(self.ax_map.spines.values())
        dynamic = [self.slab_img, self.map_img, self.slab_title] + self.row_labels + spines
        for artist in dynamic:
            artist.set_visible(False)
        fig.canvas.draw()
        self.background = fig.canvas.copy_from_bbox(fig.bbox)
        for artist in dynamic:
            artist.set_visible(True)
        self.dynamic = dynamic
        self.zone = zone

    def render(self, machine, cache, zone_name):
        import io

        import numpy as np
        from PIL import Image

        key = (id(cache), cache.objperslab if cache else 0, zone_name)
        if key != self.key:
            self._setup(machine, cache, zone_name)
            self.key = key
        grid = np.zeros((self.ROWS, self.width), dtype=np.uint8)
        slabs = cache.slabs()[:self.ROWS] if cache is not None else []
        for row, label in enumerate(self.row_labels):
            if row < len(slabs):
                slab = slabs[row]
                grid[row, :slab.objects] = 2
                if slab.freelist:
                    grid[row, np.fromiter(slab.freelist, dtype=np.int64)] = 1
                label.set_text(f"{slab.state}{' (empty)' if slab.inuse == 0 else ''} pfn {slab.page.pfn}")
            else:
                label.set_text("")
        self.slab_img.set_data(grid)
        if cache is not None:
            more = f" (first {self.ROWS} of {cache.nr_slabs} slabs)" if cache.nr_slabs > self.ROWS else ""
            self.slab_title.set_text(f"{cache.name}: {cache.objects_in_use} of {cache.total_objects} objects "
                                     f"in use{more}")
        zone = self.zone
        state = np.where(zone.page_map() == 255, 1, 0).astype(np.uint8)
        for pfn, slab in machine.slub._slab_of_pfn.items():
            if zone.contains_pfn(pfn):
                state[pfn - zone.zone_start_pfn] = 3 if slab.cache is cache else 2
        padded = np.zeros(self.map_rows * self.map_width, dtype=np.uint8)
        padded[:len(state)] = state
        self.map_img.set_data(padded.reshape(self.map_rows, self.map_width))
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        for artist in self.dynamic:
            artist.draw(renderer)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
        return buf.getvalue()


class SlabDashboard(W.VBox):
    """Interactive SLUB on a small machine.

    ``SlabDashboard(machine=None, ram="20MiB", seed=0)``. Controls: create a
    cache (name, size, alignment, SLAB_HWCACHE_ALIGN); pick a cache;
    *kmem_cache_alloc*, *kmem_cache_free* of a chosen object, *free random*;
    *kmalloc* a size (the status says which class served it) and *kfree*
    the last one; *shrink*; *destroy*.
    """

    def __init__(self, machine=None, ram="20MiB", seed=0):
        from ..physmem import Machine

        self.machine = machine if machine is not None else Machine(ram=ram, cpus=2)
        self.slub = self.machine.slub
        self.seed = seed
        self.rng = random.Random(seed)
        self.last_error = None
        self.objects = {}          # cache name -> [addresses]
        self.kmallocs = []         # [(address, size)]
        self._fig = None

        self.name = W.Text(value="my_cache", description="name", layout=W.Layout(width="200px"))
        self.size = W.BoundedIntText(value=100, min=1, max=1 << 20, description="size",
                                     layout=W.Layout(width="160px"))
        self.align = W.Dropdown(options=[0, 8, 16, 32, 64, 128, 256], value=0, description="align",
                                layout=W.Layout(width="140px"))
        self.hwcache = W.Checkbox(value=False, description="SLAB_HWCACHE_ALIGN", indent=False,
                                  layout=W.Layout(width="180px"))
        self.create_button = W.Button(description="kmem_cache_create", button_style="primary",
                                       layout=W.Layout(width="170px"))
        self.cache = W.Dropdown(options=[], description="cache", layout=W.Layout(width="240px"))
        self.alloc_button = W.Button(description="kmem_cache_alloc", button_style="primary",
                                      layout=W.Layout(width="170px"))
        self.object = W.Dropdown(options=[], description="object", layout=W.Layout(width="290px"))
        self.free_button = W.Button(description="kmem_cache_free", layout=W.Layout(width="170px"))
        self.free_random_button = W.Button(description="free random")
        self.kmalloc_size = W.BoundedIntText(value=100, min=-1, max=1 << 24, description="bytes",
                                             layout=W.Layout(width="170px"))
        self.kmalloc_button = W.Button(description="kmalloc", button_style="info")
        self.kfree_button = W.Button(description="kfree last")
        self.shrink_button = W.Button(description="kmem_cache_shrink", layout=W.Layout(width="170px"))
        self.destroy_button = W.Button(description="kmem_cache_destroy", button_style="danger",
                                        layout=W.Layout(width="170px"))
        self.status = W.HTML(status_html("Create a cache, or pick one and press kmem_cache_alloc."))
        self.image = W.Image(format="png", layout=W.Layout(width="100%"))
        self.legend = W.HTML('<span style="font-size:12px">Slabs: <b style="color:#0072B2">&#9632;</b> object in '
                             'use, <b style="color:#9cc9e6">&#9632;</b> free. Pages: white free, grey other '
                             'allocations, blue slab pages, <b style="color:#D55E00">&#9632;</b> slabs of the '
                             'chosen cache.</span>')
        self.slabinfo = W.HTML()

        self.create_button.on_click(self._on_create)
        self.alloc_button.on_click(self._on_alloc)
        self.free_button.on_click(self._on_free)
        self.free_random_button.on_click(self._on_free_random)
        self.kmalloc_button.on_click(self._on_kmalloc)
        self.kfree_button.on_click(self._on_kfree)
        self.shrink_button.on_click(self._on_shrink)
        self.destroy_button.on_click(self._on_destroy)
        self.cache.observe(self._on_cache_change, names="value")

        rows = W.VBox([
            W.HBox([self.name, self.size, self.align, self.hwcache, self.create_button]),
            W.HBox([self.cache, self.alloc_button, self.object, self.free_button, self.free_random_button]),
            W.HBox([self.kmalloc_size, self.kmalloc_button, self.kfree_button, self.shrink_button,
                    self.destroy_button]),
        ])
        super().__init__([rows, self.status, self.image, self.legend,
                          W.HTML("<b>/proc/slabinfo</b> (caches with slabs, and the chosen one)"), self.slabinfo])
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
        kmalloc = [n for n in names if n.startswith("kmalloc-") and "-" not in n[len("kmalloc-"):]]
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
        if self._fig is None:
            self._fig = _SlabView()
        self.image.value = self._fig.render(self.machine, cache, zone_name)
        text = procfs.slabinfo(self.machine).splitlines(keepends=True)
        keep = [line for line in text[2:] if line.split()[0] == (cache.name if cache else None)
                or int(line.split()[2]) > 0]
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
        return "DMA32" if "DMA32" in self.machine.zones else None

    # ------------------------------------------------------------ callbacks
    def _on_cache_change(self, change):
        try:
            self.refresh()
        except Exception as err:  # noqa: BLE001 - shown, not raised from a widget event
            self.status.value = status_html(f"internal error: {err}", "error")

    @guarded
    def _on_create(self, _=None):
        flags = SLAB_HWCACHE_ALIGN if self.hwcache.value else 0
        cache = self.machine.kmem_cache_create(self.name.value.strip(), self.size.value, align=self.align.value,
                                               flags=flags)
        self._refresh_caches(cache.name)
        self.status.value = status_html(
            f"kmem_cache_create({cache.name!r}, {cache.object_size}): objects of {cache.size} bytes "
            f"(align {cache.align}), {cache.objperslab} per slab of {cache.pagesperslab} page"
            f"{'s' if cache.order else ''}; {cache.explain_geometry()[-1]}", "ok")

    @guarded
    def _on_alloc(self, _=None):
        cache = self.current
        if cache is None:
            self.status.value = status_html("Pick or create a cache first.", "error")
            return
        slabs_before = cache.nr_slabs
        addr = self.machine.kmem_cache_alloc(cache)
        self.objects.setdefault(cache.name, []).append(addr)
        self.refresh()
        self.object.value = addr
        new = (f"; a new slab of {cache.pagesperslab} page{'s' if cache.order else ''} came from the buddy "
               f"allocator (pfn {cache.cpu_slab.page.pfn})" if cache.nr_slabs > slabs_before else "")
        self.status.value = status_html(f"kmem_cache_alloc({cache.name}) -> {addr:#x}{new}", "ok")

    @guarded
    def _on_free(self, _=None):
        addr = self.object.value
        if addr is None:
            self.status.value = status_html("No object of this cache to free.", "error")
            return
        self._free(self.current, addr)

    @guarded
    def _on_free_random(self, _=None):
        cache = self.current
        objs = self.objects.get(cache.name, []) if cache else []
        if not objs:
            self.status.value = status_html("No object of this cache to free.", "error")
            return
        self._free(cache, objs[self.rng.randrange(len(objs))])

    def _free(self, cache, addr):
        pages_before = self.machine.nr_free_pages
        self.machine.kmem_cache_free(cache, addr)
        self.objects[cache.name].remove(addr)
        self.refresh()
        back = self.machine.nr_free_pages - pages_before
        extra = f"; the slab was empty and went back to the buddy allocator ({back} pages)" if back else ""
        self.status.value = status_html(f"kmem_cache_free({cache.name}, {addr:#x}){extra}", "ok")

    @guarded
    def _on_kmalloc(self, _=None):
        size = self.kmalloc_size.value
        cache = self.slub.kmalloc_cache_for(size) if 0 < size else None
        addr = self.machine.kmalloc(size)
        self.kmallocs.append((addr, size))
        if cache is None:
            self.status.value = status_html(
                f"kmalloc({size}) -> {addr:#x}: above 8 KiB, so whole pages from the buddy allocator "
                f"({format_size(self.machine.ksize(addr))})", "ok")
            self.refresh()
            return
        self.objects.setdefault(cache.name, []).append(addr)
        self._refresh_caches(cache.name)
        waste = cache.object_size - size
        self.status.value = status_html(
            f"kmalloc({size}) -> {addr:#x} from {cache.name}: ksize {cache.object_size}, {waste} byte"
            f"{'s' if waste != 1 else ''} wasted inside the object", "ok")

    @guarded
    def _on_kfree(self, _=None):
        if not self.kmallocs:
            self.status.value = status_html("Nothing from kmalloc to free.", "error")
            return
        addr, size = self.kmallocs[-1]
        self.machine.kfree(addr)
        self.kmallocs.pop()
        for objs in self.objects.values():
            if addr in objs:
                objs.remove(addr)
        self.refresh()
        self.status.value = status_html(f"kfree({addr:#x}) ({size} bytes)", "ok")

    @guarded
    def _on_shrink(self, _=None):
        cache = self.current
        released = self.machine.kmem_cache_shrink(cache)
        self.refresh()
        self.status.value = status_html(f"kmem_cache_shrink({cache.name}): {released} pages back to the buddy "
                                        f"allocator", "ok")

    @guarded
    def _on_destroy(self, _=None):
        cache = self.current
        self.machine.kmem_cache_destroy(cache)
        self.objects.pop(cache.name, None)
        self._refresh_caches()
        self.status.value = status_html(f"kmem_cache_destroy({cache.name}): gone", "ok")
