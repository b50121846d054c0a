"""One way to make a figure and one way to encode it: every drawing of the
course goes through here.

Figures are plain matplotlib ``Figure`` objects with an Agg canvas (no
pyplot state, so a dashboard's figure never leaks into a notebook cell).
:class:`Drawing` is the handle a topic's drawing returns: ``update(model)``
redraws it from the model, ``png()`` encodes it, and in a notebook it shows
itself (``_repr_png_``), so a notebook cell and a dashboard share one drawing.
"""

from __future__ import annotations

__all__ = [
    "new_figure",
    "figure_png",
    "canvas_png",
    "png_bytes",
    "Drawing",
    "CSS_DPI",
    "RENDER_DPI",
    "DRAWING_FONT_SIZE",
]

#: A CSS inch is 96 CSS pixels: a drawing is shown at ``figsize * 96`` px, never stretched.
CSS_DPI = 96
#: Drawings are rendered at 1.5 device pixels per CSS pixel: sharp on ordinary screens
#: (shown scaled down), acceptable on 2x screens, at a third of the cost of 2x.
RENDER_DPI = 144
#: The base font size (points) while a drawing draws: with it the smallest text
#: of any drawing ("x-small") is 7.6 pt, about 10 CSS px at natural size.
DRAWING_FONT_SIZE = 11


def new_figure(figsize=(10, 4), dpi=80, layout=None):
    """A matplotlib Figure with its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(rgba):
    """PNG bytes of an ``(height, width, 4)`` uint8 RGBA array, every scanline
    unfiltered (filter type 0) and the whole compressed by zlib at level 1.

    Widget redraws favour speed over a few kilobytes: on the dashboards'
    pictures this is about twice as fast as Pillow's encoder at level 1
    (which chooses a filter per scanline) for the same size within a few
    per cent (PNG: RFC 2083; IHDR colour type 6, 8 bits per channel).
    """
    import struct
    import zlib

    import numpy as np

    height, width, _ = rgba.shape
    rows = np.empty((height, 1 + 4 * width), dtype=np.uint8)
    rows[:, 0] = 0  # each scanline starts with its filter type: 0, none
    rows[:, 1:] = rgba.reshape(height, 4 * width)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def canvas_png(canvas):
    """PNG bytes of what an Agg canvas holds now (no redraw): :func:`png_bytes`."""
    import numpy as np

    return png_bytes(np.asarray(canvas.buffer_rgba()))


def figure_png(fig, dpi=80):
    """Draw ``fig`` and return its PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    fig.canvas.draw()
    return canvas_png(fig.canvas)


def _with_drawing_style(method):
    """Run a drawing method with the drawings' font size in effect (named
    sizes such as "small" are resolved when a text is created)."""
    import functools

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        from matplotlib import rc_context

        with rc_context({"font.size": DRAWING_FONT_SIZE}):
            return method(self, *args, **kwargs)

    return run


class Drawing:
    """A figure that follows a model: ``update(model)`` then ``png()``.

    Subclasses draw in :meth:`update`; the default :meth:`png` renders the
    whole figure. Drawings that redraw often keep a cached background and
    draw only the changing artists on top (see :class:`memlab.plots.BuddyDrawing`).

    Every drawing is rendered at :data:`RENDER_DPI` and meant to be shown at
    its natural size, :attr:`css_width` CSS pixels wide (at most the width
    of the page): text stays the size it was drawn at instead of being
    stretched or squeezed. A subclass's ``__init__`` and ``update`` run with
    :data:`DRAWING_FONT_SIZE`.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("__init__", "update"):
            if name in cls.__dict__:
                setattr(cls, name, _with_drawing_style(cls.__dict__[name]))

    def __init__(self, figsize=(7, 3), dpi=RENDER_DPI, layout=None, margins=None):
        self.dpi = dpi
        self.fig = new_figure(figsize, dpi, layout)
        #: ``subplots_adjust()`` arguments, kept across :meth:`clear`
        self.margins = margins
        if margins:
            self.fig.subplots_adjust(**margins)

    def clear(self):
        """Empty the figure for a redraw, keeping its margins
        (``Figure.clear()`` resets them to matplotlib's defaults)."""
        self.fig.clear()
        if self.margins:
            self.fig.subplots_adjust(**self.margins)

    @property
    def css_width(self):
        """The width (CSS pixels) to show the picture at: ``figsize * 96``."""
        return round(self.fig.get_figwidth() * CSS_DPI)

    def update(self, model):
        """Redraw from ``model``; returns self so calls can be chained."""
        raise NotImplementedError

    # A drawing that redraws often names its changing artists in _dynamic(),
    # caches everything else once (cache_background) and renders with blit_png.
    def _dynamic(self):
        return []

    def cache_background(self):
        """Render the figure without the :meth:`_dynamic` artists and keep
        the pixels as :attr:`background`."""
        dynamic = self._dynamic()
        for artist in dynamic:
            artist.set_visible(False)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        for artist in dynamic:
            artist.set_visible(True)

    def blit_png(self):
        """PNG bytes: the cached background with the changing artists drawn on top."""
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        for artist in self._dynamic():
            if artist.get_visible():
                artist.draw(renderer)
        return canvas_png(canvas)

    def png(self):
        """PNG bytes of the current picture."""
        return figure_png(self.fig, self.dpi)

    def _repr_png_(self):
        return self.png()
