"""The one exercise pattern of the course: a seeded problem, a hidden
answer, a check that explains, and a diagnosis of common mistakes.

One pattern for the whole course (after OSTEP's homework simulators): a
generator takes a ``seed`` and builds a problem from the simulation itself,
so the hidden answer is what memlab computes; :meth:`Exercise.check` takes
the student's answer and says whether it is right and, step by step, why; a
wrong answer that matches a known mistake (the byte count instead of the
count register, the bytes copied instead of the bytes not copied, the buddy
of the wrong order, a fraction instead of thousandths) is told what it
probably did. :meth:`Exercise.solution` reveals the answer (OSTEP's ``-c``);
:meth:`Exercise.run` replays the simulation for prediction exercises.
:class:`Choice` asks *why*, with an explanation for every option.

The widget wraps the exercise, not the other way round: this package never
imports the widget layer; ``memlab/__init__.py`` wires
``Exercise.widget_factory``.
"""

from __future__ import annotations

from ..errors import BadAnswer

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing at run time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Exercise", "CheckResult", "Choice", "BadAnswer"]


class CheckResult:
    """The outcome of :meth:`Exercise.check`: ``.correct`` and ``.message``."""

    __slots__ = ("correct", "message")

    def __init__(self, correct, message):
        self.correct = correct
        self.message = message

    def __bool__(self):
        return self.correct

    def __repr__(self):
        return f"CheckResult(correct={self.correct}, message={self.message!r})"


class Exercise:
    """One seeded problem. ``question`` is shown; the answer stays hidden
    until :meth:`check` or :meth:`solution`.

    ``mistakes`` is a list of ``(wrong_answer, diagnosis)``: a wrong answer
    equal to one of them is told what the student probably did. With
    ``thousandths`` the answer is a kernel index in thousandths, and a
    fraction such as 0.912 is recognised as the right value in the wrong
    unit. ``demo`` (a callable returning lines of text) makes the exercise
    a prediction: after an answer, :meth:`run` lets the simulation do it.
    """

    #: Builds the widget for :meth:`widget`; set by ``memlab/__init__.py``
    #: to ``memlab.widgets.ExerciseWidget``, so this layer needs no view.
    widget_factory: Callable[[Exercise], Any] | None = None

    def __init__(self, kind, seed, question, answer, steps, hint="", mistakes=(), thousandths=False, demo=None):
        self.kind = kind
        self.seed = seed
        self.question = question
        self._answer = answer
        self._steps = list(steps)
        self.hint = hint
        self.mistakes = [(value, why) for value, why in mistakes if value != answer]
        self.thousandths = thousandths
        self.demo = demo
        self.attempts = 0

    def parse(self, answer):
        """The answer as an int; :class:`BadAnswer` if it is not one."""
        if isinstance(answer, bool):
            raise BadAnswer(f"answer {answer!r} is a bool; type a whole number")
        if isinstance(answer, int):
            if abs(answer) >= 10**30:
                raise BadAnswer("that answer has more than 30 digits; no answer here is that large")
            return answer
        text = str(answer).strip()
        if len(text) > 40:
            raise BadAnswer(f"an answer of {len(text)} characters is too long; no answer here is that large")
        try:
            return int(text, 0) if text.lower().startswith(("0x", "-0x")) else int(text)
        except ValueError:
            if self.thousandths:
                try:
                    return float(text)
                except ValueError:
                    pass
            raise BadAnswer(f"answer {text!r} is not a whole number (decimal, or hex with 0x)") from None

    def diagnose(self, value):
        """What a wrong ``value`` suggests the student did, or None."""
        if isinstance(value, float):
            if -1.0 <= value <= 1.0 and round(value * 1000) == self._answer:
                return (
                    f"that is the right value as a fraction; the kernel's index is in thousandths "
                    f"(integer maths), so write {round(value * 1000)}"
                )
            return "the kernel's index is a whole number of thousandths, from -1000 to 1000"
        for wrong, why in self.mistakes:
            if value == wrong:
                return why
        return None

    def check(self, answer: object) -> CheckResult:
        """Compare ``answer`` with the hidden one; explain either way."""
        value = self.parse(answer)
        self.attempts += 1
        if value == self._answer and not isinstance(value, float):
            return CheckResult(True, f"Correct: {value}. " + " ".join(self._steps))
        message = f"Not quite: you answered {value}."
        why = self.diagnose(value)
        if why:
            message += f" It looks like {why}."
        elif self.hint:
            message += " Hint: " + self.hint
        return CheckResult(False, message)

    def solution(self) -> str:
        """The answer and the worked explanation, one step per line."""
        return f"Answer: {self._answer}\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(self._steps, 1))

    def run(self) -> list[str]:
        """For a prediction: replay the simulation (from the same seed) and
        return what it printed. :class:`BadAnswer` without a demo."""
        if self.demo is None:
            raise BadAnswer(f"exercise {self.kind} has nothing to run; it is not a prediction")
        return list(self.demo())

    def widget(self) -> Any:
        """Answer box, Check and Show explanation buttons (ipywidgets):
        ``memlab.widgets.ExerciseWidget(self)``."""
        if Exercise.widget_factory is None:
            raise BadAnswer("no widget layer is wired: use memlab.widgets.ExerciseWidget(exercise)")
        return Exercise.widget_factory(self)

    def __repr__(self):
        return f"Exercise({self.kind!r}, seed={self.seed}): {self.question}"


class Choice(Exercise):
    """A *why* question: pick one of ``options``, each a ``(text,
    explanation)`` pair; ``correct`` is the index of the right one. The
    options are shuffled with the seed. Every option's explanation is
    shown when it is picked, right or wrong, so a wrong pick teaches too.
    Answers: the option's letter ("b"), its index (1), or its text.
    """

    def __init__(self, kind, seed, question, options, correct, demo=None):
        import random

        order = list(range(len(options)))
        random.Random(seed).shuffle(order)
        self.options = [options[i] for i in order]
        answer = order.index(correct)
        super().__init__(kind, seed, question, answer, [], demo=demo)

    @property
    def letters(self):
        return [chr(ord("a") + i) for i in range(len(self.options))]

    def parse(self, answer):
        """The chosen option's index: a letter, an index or the option text."""
        if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(self.options):
            return answer
        text = str(answer).strip().lower().rstrip(")")
        if text in self.letters:
            return self.letters.index(text)
        for i, (option, _why) in enumerate(self.options):
            if text == option.lower():
                return i
        raise BadAnswer(f"answer {answer!r} is not one of the options {', '.join(self.letters)}")

    def check(self, answer: object) -> CheckResult:
        index = self.parse(answer)
        self.attempts += 1
        text, why = self.options[index]
        if index == self._answer:
            return CheckResult(True, f"Correct: ({self.letters[index]}) {text}. {why}")
        return CheckResult(False, f"Not this one: ({self.letters[index]}) {text}. {why}")

    def solution(self) -> str:
        lines = [f"Answer: ({self.letters[self._answer]}) {self.options[self._answer][0]}"]
        for letter, (text, why) in zip(self.letters, self.options):
            mark = "right" if letter == self.letters[self._answer] else "wrong"
            lines.append(f"({letter}) {text} - {mark}: {why}")
        return "\n".join(lines)
