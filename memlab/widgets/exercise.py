"""The one exercise widget of the course: answer box, Check, Show explanation."""

from __future__ import annotations

import html

import ipywidgets as W

from .base import Dashboard, row

__all__ = ["ExerciseWidget"]


class ExerciseWidget(Dashboard):
    """Shows an :class:`memlab.exercises.Exercise`; checks typed answers."""

    def __init__(self, exercise):
        super().__init__("Type an answer and press Check.")
        self.exercise = exercise
        self.question = W.HTML(
            f"<b>Exercise ({exercise.kind}, seed {exercise.seed}).</b> {html.escape(exercise.question)}"
        )
        self.answer = W.Text(placeholder="your answer", description="Answer:", layout=W.Layout(width="260px"))
        self.check_button = W.Button(description="Check", button_style="primary")
        self.explain_button = W.Button(description="Show explanation")
        self.explanation = W.HTML("")
        self.wire([(self.check_button, self._on_check), (self.explain_button, self._on_explain)])
        self.children = [
            self.question,
            row(self.answer, self.check_button, self.explain_button),
            self.status,
            self.explanation,
        ]

    def __repr__(self):
        return f"ExerciseWidget({self.exercise.kind!r}, seed={self.exercise.seed})"

    def _on_check(self):
        result = self.exercise.check(self.answer.value)
        self.report(result.message, "ok" if result.correct else "error")

    def _on_explain(self):
        lines = self.exercise.solution().splitlines()
        self.explanation.value = "<br>".join(html.escape(line) for line in lines)
        self.info("Explanation shown below.")
