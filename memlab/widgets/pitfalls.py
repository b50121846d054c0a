"""The pitfalls dashboard: a C/C++ mistake, its sanitizer report, its picture, its fix.

Pick a pitfall (:data:`memlab.pitfalls.PITFALLS`), run the faulty or the
fixed program under its simulated sanitizer, read the report in the tool's
own layout beside the C++ source, see the heap at the moment of the bug (or
the threads' interleaving), and, where this machine has the compiler, run
the real sanitizer on the same file."""

from __future__ import annotations

import ipywidgets as W

from .. import native
from ..pitfalls import PITFALLS, check
from ..plots import PitfallDrawing
from .base import Dashboard, number, panels, picture, pre, row

__all__ = ["PitfallDashboard"]


class PitfallDashboard(Dashboard):
    """``PitfallDashboard(name="heap_use_after_free")``. Controls: the
    pitfall; *run the faulty program*, *run the fixed program*; a seed for
    the threads' interleaving; *run the real sanitizer* (needs g++, or
    clang++ for MemorySanitizer)."""

    def __init__(self, name="heap_use_after_free", seed=0):
        super().__init__("Pick a pitfall and run it.")
        self.drawing = PitfallDrawing()
        self.choice = W.Dropdown(
            options=[(f"{p.name}: {p.title}", p.name) for p in PITFALLS.values()],
            value=name,
            description="pitfall",
            layout=W.Layout(width="520px"),
        )
        self.seed = number(seed, "seed", 0, 2**31 - 1, "the interleaving's seed, 0 .. 2**31-1")
        self.faulty_button = W.Button(description="run the faulty program", button_style="warning")
        self.fixed_button = W.Button(description="run the fixed program", button_style="success")
        self.real_button = W.Button(description="run the real sanitizer", tooltip="builds examples/pitfalls/<name>.cpp")
        # (each panel scrolls sideways: a long line must not run into the panel beside it)
        self.source = W.HTML(layout=W.Layout(overflow="auto"))
        self.report_view = W.HTML(layout=W.Layout(overflow="auto"))
        self.why = W.HTML()
        self.image = picture(self.drawing)
        self.wire(
            [
                (self.faulty_button, lambda: self.run(fixed=False)),
                (self.fixed_button, lambda: self.run(fixed=True)),
                (self.real_button, self._on_real),
            ]
        )
        self.watch(self.choice, lambda change: self.show_source())
        controls = W.VBox([row(self.choice, self.seed), row(self.faulty_button, self.fixed_button, self.real_button)])
        self.children = [controls, self.status, panels(self.source, self.report_view, min_width="420px"), self.image,
                         self.why]  # fmt: skip
        self.found = None
        self.show_source()
        self.run(fixed=False)

    def __repr__(self):
        return f"PitfallDashboard({self.choice.value!r})"

    @property
    def pitfall(self):
        return PITFALLS[self.choice.value]

    def show_source(self, fixed=False):
        """The C++ file the pitfall stands for, with line numbers."""
        text = native.pitfall_source(self.pitfall.name, fixed)
        title = f"examples/pitfalls/{'fixed/' if fixed else ''}{self.pitfall.name}.cpp"
        self.source.value = f"<b>{title}</b>" + pre(text or "(examples/pitfalls is not installed here)", wrap=False)

    # ------------------------------------------------------------- running
    def run(self, fixed=False):
        """Run the faulty (or fixed) program under its simulated sanitizer."""
        p = self.pitfall
        self.show_source(fixed)
        options = {"seed": self.value_of(self.seed), "iterations": 200} if p.tool == "thread" else {}
        found, model = check(p.name, fixed, **options)
        self.found = found
        self.image.value = self.drawing.update(model).png()
        which = "fixed" if fixed else "faulty"
        if found is None:
            extra = f"; counter = {model.values['counter']}, nothing lost" if p.tool == "thread" else ""
            self.report_view.value = "<b>simulated report</b>" + pre("(no report: the program ran clean)")
            self.ok(f"the {which} program ran clean under the simulated {_tool_name(p.tool)}{extra}")
        else:
            self.report_view.value = "<b>simulated report</b>" + pre(found.report, wrap=False)
            extra = f"; {model.lost} updates lost" if p.tool == "thread" else ""
            where = f"at line {found.line}" if found.line else "at exit"
            self.info(f"{found.tool}: {found.kind} {where} of the {which} program{extra}")
        self.why.value = f"<p><b>Why:</b> {p.why}<br><b>Fix:</b> {p.fix}</p>"

    def _on_real(self):
        p = self.pitfall
        if native.pitfall_compiler(p.name) is None:
            self.error(f"no compiler here for {p.name} ({'clang++' if p.tool == 'memory' else 'g++'}); "
                       "the simulated report stands alone")  # fmt: skip
            return
        real = native.sanitizer_report(p.name)
        self.report_view.value = "<b>the real report (this machine)</b>" + pre(real["report"], wrap=False)
        self.ok(f"the real {real['tool']}: {real['kind']} ({real['summary']})")


def _tool_name(tool):
    return {"address": "AddressSanitizer", "memory": "MemorySanitizer", "thread": "ThreadSanitizer"}[tool]
