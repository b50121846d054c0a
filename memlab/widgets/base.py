"""The shape every dashboard of the course has, in one place.

A :class:`Dashboard` is an ipywidgets ``VBox`` with a status line, a table of
buttons wired to guarded callbacks, and a :meth:`Dashboard.refresh` hook that
redraws every view from the model. Guarded means: a :class:`MemlabError`
becomes a red line in the status bar with the model's own message, and any
other exception too (marked as an internal error), so a student never sees a
traceback from a button. Drawings come from :mod:`memlab.plots` (one
``Drawing`` per view, ``update(model)`` then ``png()``); this layer only
arranges widgets.
"""

from __future__ import annotations

import functools
import html

import ipywidgets as W

from ..errors import MemlabError

__all__ = ["Dashboard", "guarded", "status_html", "pre", "parse_int", "row", "panels", "picture", "number"]


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
        except Exception as err:
            self.status.value = status_html(f"internal error ({type(err).__name__}): {err}", "error")
            self.last_error = err
        return None

    return wrapper


def pre(text, wrap=True):
    """Preformatted, escaped HTML: wrapped for explanation trails, unwrapped
    (scrolling sideways) for /proc text whose columns must stay aligned."""
    style = "white-space:pre-wrap" if wrap else "white-space:pre; overflow-x:auto"
    return f'<pre style="font-size:12px; line-height:1.25; margin:0; {style}">' + html.escape(text) + "</pre>"


def parse_int(text, what, base=16):
    """An int typed into a text box: ``0x`` prefix or ``base`` digits.
    Raises a MemlabError naming the box and what it expects."""
    from ..errors import BadSize

    cleaned = str(text).strip().lower().replace("_", "")
    try:
        return int(cleaned, 16) if cleaned.startswith("0x") else int(cleaned, base)
    except ValueError:
        raise BadSize(f"{what} {text!r} is not a number (write hex like 0x1000)") from None


def number(value, description, lo=None, hi=None, rule="", width="170px"):
    """A whole-number field that keeps what the student typed. Unlike
    ``BoundedIntText``, which silently clamps (a slab size of 99,999,999
    became 1 MiB), an out-of-range value is refused when a button reads it
    (:meth:`Dashboard.value_of`), with a message naming the value and the
    rule, and the model stays unchanged. ``lo``/``hi`` bound the field
    (None: the model itself judges the value); ``rule`` says why."""
    field = W.IntText(value=value, description=description, layout=W.Layout(width=width))
    field.memlab_range = (lo, hi, rule)
    return field


def row(*children):
    """A row of controls that wraps onto the next line when the page is
    narrow (JupyterLab at 1024 px with the file browser open leaves about
    600 px), instead of squeezing buttons to "pro..." and labels to
    "alloc_...": every child keeps its natural size (no shrinking),
    buttons are as wide as their text, and descriptions are never cut."""
    for child in children:
        child.layout.flex = "0 0 auto"
        if isinstance(child, (W.Button, W.Checkbox)):
            child.layout.width = "auto"
        style = getattr(child, "style", None)
        labelled = bool(getattr(child, "description", ""))
        if labelled and hasattr(style, "description_width") and not isinstance(child, (W.Button, W.Checkbox)):
            style.description_width = "initial"
    return W.HBox(list(children), layout=W.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 6px"))


def picture(drawing):
    """The image widget of a drawing, shown at the drawing's natural size
    (``drawing.css_width`` CSS px, at most the width of the page) so its
    text is never stretched or blurred by scaling up."""
    return W.Image(format="png", layout=W.Layout(width=f"{drawing.css_width}px", max_width="100%", height="auto"))


def panels(*children, min_width="280px"):
    """Side-by-side panels (a picture and a text, registers and a memory
    dump) that stack when there is no room for both: each takes an equal
    share of the row but never less than ``min_width``."""
    for child in children:
        if isinstance(child, W.Image):  # a picture keeps its natural size: never stretched
            child.layout.flex = "0 1 auto"
            continue
        child.layout.flex = f"1 1 {min_width}"
        child.layout.min_width = min_width
        if child.layout.width and child.layout.width.endswith("%"):
            child.layout.width = None
    return W.HBox(list(children), layout=W.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="8px 16px"))


class Dashboard(W.VBox):
    """Base of the dashboards: ``status`` line, ``last_error``, guarded
    buttons and observers, and :meth:`refresh`.

    A subclass calls ``super().__init__(status=...)`` first, builds its
    controls, sets ``self.children``, and calls :meth:`wire` with a table of
    ``(button, callback)``; callbacks report with :meth:`ok`, :meth:`info`
    and :meth:`error`, and raise MemlabError for anything the student did
    wrong.
    """

    def __init__(self, status=""):
        super().__init__()
        self.last_error = None
        self.status = W.HTML(status_html(status))

    # ----------------------------------------------------------- wiring
    def _guard(self, callback):
        @functools.wraps(callback)
        def run(*args):
            try:
                return callback(*args)
            except MemlabError as err:
                self.error(str(err))
                self.last_error = err
            except Exception as err:
                self.error(f"internal error ({type(err).__name__}): {err}")
                self.last_error = err
            return None

        return run

    def wire(self, table):
        """Connect each ``(button, callback)``; ``callback()`` takes no
        argument and runs guarded."""
        for button, callback in table:
            button.on_click(self._guard(lambda _button, cb=callback: cb()))

    def watch(self, widget, callback, names="value"):
        """Call ``callback(change)`` guarded when ``widget.<names>`` changes."""
        widget.observe(self._guard(callback), names=names)

    def value_of(self, field):
        """The value of a :func:`number` field, or a BadSize naming the
        value and the rule when it is out of range (nothing is changed)."""
        from ..errors import BadSize

        value = field.value
        lo, hi, rule = getattr(field, "memlab_range", (None, None, ""))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = (
                f"{lo}..{hi}" if lo is not None and hi is not None else (f">= {lo}" if lo is not None else f"<= {hi}")
            )
            why = f": {rule}" if rule else ""
            raise BadSize(f"{field.description} {value} is outside {bounds}{why}; nothing changed")
        return value

    # ----------------------------------------------------------- status
    def report(self, message, kind="info"):
        """Show ``message`` in the status line; ``kind`` is info, ok or error."""
        self.status.value = status_html(message, kind)

    def ok(self, message):
        self.status.value = status_html(message, "ok")

    def info(self, message):
        self.status.value = status_html(message, "info")

    def error(self, message):
        self.status.value = status_html(message, "error")

    def refresh(self):
        """Redraw every view from the model (subclasses override)."""
