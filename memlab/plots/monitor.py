"""Pictures of /proc/meminfo (lesson 08): where the memory is, and how it moves.

:func:`memory_breakdown` draws a meminfo record as one stacked bar: free,
the page cache (active and inactive), Buffers, anonymous pages, the slab
(reclaimable and not), page tables and the rest the kernel holds, with
``MemAvailable`` marked. :func:`meminfo_timeline` draws a list of records
(one per sample of a run) as stacked areas over time.
"""

from __future__ import annotations

from .figure import Drawing

__all__ = ["MEMINFO_PARTS", "memory_breakdown", "meminfo_timeline", "MemoryDrawing", "MemoryTimelineDrawing"]

#: (label, how to get it from a record in kB, colour), bottom to top
MEMINFO_PARTS = (
    ("anonymous", lambda r: r["AnonPages"], "#D55E00"),
    ("page tables", lambda r: r["PageTables"], "#CC79A7"),
    ("slab, unreclaimable", lambda r: r["SUnreclaim"], "#E69F00"),
    ("kernel, other", lambda r: _other(r), "#999999"),
    ("slab, reclaimable", lambda r: r["SReclaimable"], "#F0E442"),
    ("buffers", lambda r: r["Buffers"], "#009E73"),
    ("page cache, active", lambda r: r["Active(file)"], "#0072B2"),  # (Buffers' pages are inactive)
    ("page cache, inactive", lambda r: r["Cached"] - r["Active(file)"], "#56B4E9"),
    ("free", lambda r: r["MemFree"], "#FFFFFF"),
)


def _other(r):
    known = r["MemFree"] + r["Cached"] + r["Buffers"] + r["AnonPages"] + r["Slab"] + r["PageTables"]
    return max(0, r["MemTotal"] - known)


def memory_breakdown(ax, record, title=None):
    """``record`` (a /proc/meminfo record) as a horizontal stacked bar in
    MiB, with MemAvailable marked. Returns ``ax``."""
    left = 0.0
    for label, get, color in MEMINFO_PARTS:
        width = get(record) / 1024
        ax.barh(0, width, left=left, color=color, edgecolor="black", linewidth=0.4, label=label)
        left += width
    avail = record["MemAvailable"] / 1024
    total = record["MemTotal"] / 1024
    ax.axvline(total - avail, color="black", lw=1.5, ls="--")
    ax.text(total - avail, -0.3, " used = total - available", va="center", fontsize="small")
    ax.set_xlim(0, total)
    ax.set_yticks([])
    ax.set_xlabel("MiB")
    ax.set_title(title or f"MemTotal {total:,.0f} MiB: where it is", fontsize="medium")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", frameon=False)
    return ax


def meminfo_timeline(ax, records, times=None):
    """A run's meminfo records as stacked areas (MiB) over ``times``
    (default: the sample number), MemAvailable as a line. Returns ``ax``."""
    xs = list(times) if times is not None else list(range(len(records)))
    stacks = [[get(r) / 1024 for r in records] for _, get, _ in MEMINFO_PARTS[:-1]]
    ax.stackplot(xs, stacks, labels=[p[0] for p in MEMINFO_PARTS[:-1]], colors=[p[2] for p in MEMINFO_PARTS[:-1]])
    ax.plot(xs, [(r["MemTotal"] - r["MemAvailable"]) / 1024 for r in records], color="black", ls="--",
            label="used = total - available")  # fmt: skip
    ax.set_ylim(0, records[0]["MemTotal"] / 1024 if records else 1)
    ax.set_ylabel("MiB")
    ax.set_xlabel("time (s)" if times is not None else "sample")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", frameon=False)
    return ax


class MemoryDrawing(Drawing):
    """A meminfo record as a stacked bar, redrawn by ``update(record)``.
    Axes, labels and legend are drawn once per machine size and cached;
    an update moves the bars, the "used" line and its label only."""

    def __init__(self):
        super().__init__(figsize=(7.2, 1.9), margins={"left": 0.03, "right": 0.72, "bottom": 0.3, "top": 0.82})
        self.ax = None
        self.total = None

    def _dynamic(self):
        return [*self.ax.patches, *self.ax.lines, *self.ax.texts] if self.ax is not None else []

    def update(self, record):
        if self.ax is None or record["MemTotal"] != self.total:
            self.clear()
            self.ax = self.fig.add_subplot()
            memory_breakdown(self.ax, record)
            self.total = record["MemTotal"]
            self.cache_background()
            return self
        left = 0.0
        for bar, (_, get, _) in zip(self.ax.patches, MEMINFO_PARTS):
            width = get(record) / 1024
            bar.set_x(left)
            bar.set_width(width)
            left += width
        used = (record["MemTotal"] - record["MemAvailable"]) / 1024
        self.ax.lines[0].set_xdata([used, used])
        self.ax.texts[0].set_x(used)
        return self

    def png(self):
        return self.blit_png()


class MemoryTimelineDrawing(Drawing):
    """A run's meminfo records as stacked areas, redrawn by
    ``update((records, times))``. Axes, labels and legend are cached while
    the run's length and the machine's size stay the same; an update
    redraws the areas and the "used" line only."""

    def __init__(self):
        super().__init__(figsize=(7.2, 2.2), margins={"left": 0.09, "right": 0.72, "bottom": 0.22, "top": 0.95})
        self.ax = None
        self.shape = None

    def _dynamic(self):
        return [*self.ax.collections, *self.ax.lines] if self.ax is not None else []

    def update(self, run):
        records, times = run
        xs = list(times) if times is not None else list(range(len(records)))
        shape = (xs[0], xs[-1], records[0]["MemTotal"]) if records else None
        if self.ax is None or shape != self.shape:
            self.clear()
            self.ax = self.fig.add_subplot()
            meminfo_timeline(self.ax, records, times)
            if len(xs) > 1:
                self.ax.set_xlim(xs[0], xs[-1])
            self.shape = shape
            self.cache_background()
            return self
        for artist in self._dynamic():
            artist.remove()
        stacks = [[get(r) / 1024 for r in records] for _, get, _ in MEMINFO_PARTS[:-1]]
        self.ax.stackplot(xs, stacks, colors=[p[2] for p in MEMINFO_PARTS[:-1]])
        self.ax.plot(xs, [(r["MemTotal"] - r["MemAvailable"]) / 1024 for r in records], color="black", ls="--")
        return self

    def png(self):
        return self.blit_png()
