"""One way to make a figure and one way to encode it: every drawing of the
course goes through here.

Figures are plain matplotlib ``Figure`` objects with an Agg canvas (no
pyplot state, so a dashboard's figure never leaks into a notebook cell).
:class:`Drawing` is the handle a topic's drawing returns: ``update(model)``
redraws it from the model, ``png()`` encodes it, and in a notebook it shows
itself (``_repr_png_``), so a notebook cell and a dashboard share one drawing.
"""

from __future__ import annotations

import io

__all__ = ["new_figure", "figure_png", "canvas_png", "Drawing"]


def new_figure(figsize=(10, 4), dpi=80, layout=None):
    """A matplotlib Figure with its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def canvas_png(canvas):
    """PNG bytes of what an Agg canvas holds now (no redraw), encoded with
    light compression: widget redraws favour speed over a few kilobytes."""
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def figure_png(fig, dpi=80):
    """Draw ``fig`` and return its PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    fig.canvas.draw()
    return canvas_png(fig.canvas)


class Drawing:
    """A figure that follows a model: ``update(model)`` then ``png()``.

    Subclasses draw in :meth:`update`; the default :meth:`png` renders the
    whole figure. Drawings that redraw often keep a cached background and
    draw only the changing artists on top (see :class:`memlab.plots.BuddyDrawing`).
    """

    def __init__(self, figsize=(10, 4), dpi=80, layout=None):
        self.dpi = dpi
        self.fig = new_figure(figsize, dpi, layout)

    def update(self, model):
        """Redraw from ``model``; returns self so calls can be chained."""
        raise NotImplementedError

    def png(self):
        """PNG bytes of the current picture."""
        return figure_png(self.fig, self.dpi)

    def _repr_png_(self):
        return self.png()
