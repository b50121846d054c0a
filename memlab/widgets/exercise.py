"""The one exercise widget of the course: an answer (a box, or options for a
why-question), Check, Show explanation, and Run it for predictions.

Show explanation and Run it open only after a first answer: the self-check
is there to make the student commit to an answer before seeing one.
"""

from __future__ import annotations

import html

import ipywidgets as W

from ..exercises import Choice
from .base import Dashboard, pre, row

__all__ = ["ExerciseWidget"]

#: ipywidgets draws radio labels on one line of fixed height; the options of a
#: why-question are sentences, so let them wrap (else they run into each other).
_CHOICE_CSS = (
    "<style>.memlab-choice .widget-radio-box label {display: flex; flex-direction: row-reverse; "
    "justify-content: flex-end; white-space: normal; height: auto; line-height: 1.35; "
    "align-items: flex-start; margin: 3px 0;} "
    ".memlab-choice .widget-radio-box input {margin: 3px 6px 0 0; flex: none;}</style>"
)


class ExerciseWidget(Dashboard):
    """Shows an :class:`memlab.exercises.Exercise`; checks answers."""

    def __init__(self, exercise):
        super().__init__("Answer, then press Check.")
        self.exercise = exercise
        self.question = W.HTML(
            f"<b>Exercise ({exercise.kind}, seed {exercise.seed}).</b> {html.escape(exercise.question)}"
        )
        if isinstance(exercise, Choice):
            labels = [f"({letter}) {text}" for letter, (text, _why) in zip(exercise.letters, exercise.options)]
            self.answer = W.RadioButtons(
                options=[(label, i) for i, label in enumerate(labels)],
                value=None,
                layout=W.Layout(width="100%"),
                style={"description_width": "0px"},
            )
            self.answer.add_class("memlab-choice")
            answer_row = W.VBox([W.HTML(_CHOICE_CSS), self.answer])
        else:
            self.answer = W.Text(placeholder="your answer", description="Answer:", layout=W.Layout(width="260px"))
            answer_row = None
        self.check_button = W.Button(description="Check", button_style="primary")
        self.explain_button = W.Button(description="Show explanation", tooltip="after a first answer")
        self.run_button = W.Button(description="Run it", button_style="info", tooltip="after a first answer")
        self.explanation = W.HTML("")
        self.output = W.HTML("")
        self.wire(
            [
                (self.check_button, self._on_check),
                (self.explain_button, self._on_explain),
                (self.run_button, self._on_run),
            ]
        )
        buttons = [self.check_button, self.explain_button] + ([self.run_button] if exercise.demo else [])
        controls = [answer_row, row(*buttons)] if answer_row is not None else [row(self.answer, *buttons)]
        self.children = [self.question, *controls, self.status, self.output, self.explanation]

    def __repr__(self):
        return f"ExerciseWidget({self.exercise.kind!r}, seed={self.exercise.seed})"

    def _answered(self, what):
        """True once the student has checked an answer; else says so."""
        if self.exercise.attempts:
            return True
        self.info(f"Answer first: pick or type your answer and press Check; then {what} opens.")
        return False

    def _on_check(self):
        if isinstance(self.exercise, Choice) and self.answer.value is None:
            self.info("Pick one of the options first.")
            return
        result = self.exercise.check(self.answer.value)
        follow = " Press Run it to watch the simulation do it." if self.exercise.demo else ""
        self.report(result.message + follow, "ok" if result.correct else "error")

    def _on_explain(self):
        if not self._answered("the explanation"):
            return
        lines = self.exercise.solution().splitlines()
        self.explanation.value = "<br>".join(html.escape(line) for line in lines)
        self.info("Explanation shown below.")

    def _on_run(self):
        if not self._answered("the run"):
            return
        self.output.value = "<b>The simulation:</b>" + pre("\n".join(self.exercise.run()))
        self.info("The simulation ran it: compare with your prediction.")
