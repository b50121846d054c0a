"""Helpers shared by the dashboards: guarded callbacks, status lines, PNGs."""

import functools
import html
import io

from ..errors import MemlabError

__all__ = ["guarded", "status_html", "figure_png", "pre"]


def status_html(message, kind="info"):
    """HTML for a status line: ``kind`` is info, ok or error."""
    color = {"info": "#333333", "ok": "#1a6e1a", "error": "#b00020"}[kind]
    icon = {"info": "", "ok": "\u2714 ", "error": "\u26a0 "}[kind]
    return f'<span class="memlab-status memlab-{kind}" style="color:{color}">{icon}{html.escape(message)}</span>'


def guarded(method):
    """Wrap a widget callback: a MemlabError goes to ``self.status`` as an
    error line; any other exception too, marked as an internal error, so a
    student never sees a raw traceback from a button."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except MemlabError as err:
            self.status.value = status_html(str(err), "error")
            self.last_error = err
        except Exception as err:  # noqa: BLE001 - shown to the student, not swallowed silently
            self.status.value = status_html(f"internal error ({type(err).__name__}): {err}", "error")
            self.last_error = err
        return None

    return wrapper


def figure_png(fig, dpi=80):
    """PNG bytes of a matplotlib Figure (Agg, no pyplot state), encoded with
    light compression: widget redraws favour speed over a few kilobytes."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    fig.canvas.draw()
    buf = io.BytesIO()
    Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def pre(text, wrap=True):
    """Preformatted, escaped HTML: wrapped for explanation trails, unwrapped
    (scrolling sideways) for /proc text whose columns must stay aligned."""
    style = "white-space:pre-wrap" if wrap else "white-space:pre; overflow-x:auto"
    return (f'<pre style="font-size:12px; line-height:1.25; margin:0; {style}">'
            + html.escape(text) + "</pre>")
