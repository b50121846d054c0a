"""Compare the speed of two checkouts of memlab, interleaved, in fresh processes.

    python benchmarks/compare.py OLD_TREE NEW_TREE [--rounds 9] [--only TEXT]

Each case of benchmarks/cases.py runs as its own Python process with the
tree first on sys.path, alternating old, new, new, old ... so load on this
shared machine hits both alike. Inside a process the case is set up and
timed ``--repeat`` times and the median kept (so one unlucky run does not
decide); per round the ratio new/old of the two processes is taken; the
report gives the median ratio and its spread (min..max) over the rounds,
and the medians of the absolute costs. A ratio below 1 means the new tree
is faster. ``--pin`` runs every process on one CPU. ``import memlab`` is
timed once per process (the first import is the one that counts), with the
bytecode of both trees already cached, as an installed package has it: the
runs write .pyc files under a temporary PYTHONPYCACHEPREFIX even where
PYTHONDONTWRITEBYTECODE is set, and each tree is imported once, untimed,
before the first round (otherwise the figure is mostly compile time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

from cases import CASES
from run import IMPORT, _cost, _pin, _python, measure

_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per process (median kept)")
    parser.add_argument("--only", default="", help="run the cases whose name contains this text")
    parser.add_argument("--pin", action="store_true", help="run every process on one CPU")
    args = parser.parse_args()
    cpu = _pin() if args.pin else None
    _ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="memlab-bench-pyc-")
    for tree in (args.old, args.new):  # compile and cache both trees' bytecode, untimed
        _python(IMPORT.format(root=tree), cpu, _ENV)
    print(f"{'case':58} {'old (median)':>13} {'new (median)':>13}  new/old median [min..max]")
    for case in [*CASES, None]:
        name = "import memlab (first import in a process)" if case is None else case.name
        if args.only not in name:
            continue
        olds, news, ratios = [], [], []
        for r in range(args.rounds):
            pair = []
            for tree in (args.old, args.new) if r % 2 == 0 else (args.new, args.old):
                if case is None:
                    pair.append((tree, float(_python(IMPORT.format(root=tree), cpu, _ENV))))
                else:
                    pair.append((tree, measure(case, cpu, args.repeat, tree, _ENV)[0]))
            old, new = dict(pair)[args.old], dict(pair)[args.new]
            olds.append(old)
            news.append(new)
            ratios.append(new / old)
        print(
            f"{name:58} {_cost(statistics.median(olds)):>13} {_cost(statistics.median(news)):>13}  "
            f"{statistics.median(ratios):.2f} [{min(ratios):.2f}..{max(ratios):.2f}]",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
