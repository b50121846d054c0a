"""Test set-up: a headless matplotlib for tests that draw in this process,
and the Hypothesis profiles.

Notebook kernels started by nbval inherit the environment: MPLBACKEND is
removed so they use the inline backend (headless too) and produce the same
figure outputs as the stored notebooks.

Hypothesis profiles (``HYPOTHESIS_PROFILE=dev|ci``, default ``ci``, which
``make test`` and CI use): ``ci`` runs every state machine at full size;
``dev`` runs a third of the examples for a quick local loop. A state machine
scales its own budget from the loaded profile with :func:`examples`.
"""

import os

import matplotlib
from hypothesis import HealthCheck, settings

os.environ.pop("MPLBACKEND", None)
matplotlib.use("Agg")

settings.register_profile(
    "ci", max_examples=150, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(share):
    """``share`` of the loaded profile's max_examples (at least 10)."""
    return max(10, round(settings.default.max_examples * share))


def check_seeded_numeric(kind, seeds=15):
    """A numeric exercise: the same seed gives the same problem and
    solution, the hidden answer is accepted as an int and as text, its
    neighbour is not, and the seeds give more than a few problems."""
    from memlab import exercises

    questions = set()
    for seed in range(seeds):
        a, b = exercises.make(kind, seed), exercises.make(kind, seed)
        assert a.question == b.question and a.solution() == b.solution()
        answer = int(a.solution().split()[1])
        assert a.check(answer).correct and a.check(str(answer)).correct
        assert not a.check(answer + 1).correct
        questions.add(a.question)
    assert len(questions) > 5
