"""A short seeded fuzz run per area (tools/fuzz.py; `make fuzz` runs 1,000,000
operations per area): no Python internal error may reach the caller, and a
rejected call must leave the model's visible state exactly as it was."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import fuzz


@pytest.mark.parametrize("area", sorted(fuzz.AREAS))
@pytest.mark.parametrize("seed", [1, 2])
def test_invalid_calls_are_memlab_errors_that_change_nothing(area, seed):
    report = fuzz.run_area(fuzz.AREAS[area], 1500, seed)
    assert report["rejected"] > 100  # the stream really mixes in invalid calls
    assert not report["raw"], f"internal errors: {dict(report['raw'])}"
    assert not report["changed"], f"rejected calls that changed the model: {dict(report['changed'])}"
