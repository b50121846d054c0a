"""The one exercise widget of the course: answer box, Check, Show explanation."""

import html

import ipywidgets as W

from ._common import guarded, status_html

__all__ = ["ExerciseWidget"]


class ExerciseWidget(W.VBox):
    """Shows an :class:`memlab.exercises.Exercise`; checks typed answers."""

    def __init__(self, exercise):
        self.exercise = exercise
        self.last_error = None
        self.question = W.HTML(f"<b>Exercise ({exercise.kind}, seed {exercise.seed}).</b> "
                               f"{html.escape(exercise.question)}")
        self.answer = W.Text(placeholder="your answer", description="Answer:", layout=W.Layout(width="260px"))
        self.check_button = W.Button(description="Check", button_style="primary")
        self.explain_button = W.Button(description="Show explanation")
        self.status = W.HTML(status_html("Type an answer and press Check."))
        self.explanation = W.HTML("")
        self.check_button.on_click(self._on_check)
        self.explain_button.on_click(self._on_explain)
        super().__init__([self.question, W.HBox([self.answer, self.check_button, self.explain_button]),
                          self.status, self.explanation])

    def __repr__(self):
        return f"ExerciseWidget({self.exercise.kind!r}, seed={self.exercise.seed})"

    @guarded
    def _on_check(self, _=None):
        result = self.exercise.check(self.answer.value)
        self.status.value = status_html(result.message, "ok" if result.correct else "error")

    @guarded
    def _on_explain(self, _=None):
        lines = self.exercise.solution().splitlines()
        self.explanation.value = "<br>".join(html.escape(line) for line in lines)
        self.status.value = status_html("Explanation shown below.")
