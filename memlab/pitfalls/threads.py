"""Threads on a shared variable, a seeded interleaving, and ThreadSanitizer.

A :class:`ThreadProgram` runs a few threads, each a list of steps with the
program's line numbers (``load``/``store`` of a shared variable through the
thread's register, ``add``, ``lock``/``unlock`` of a mutex, ``atomic_add``),
one step at a time in an order drawn from a seed, and checks every access
as ThreadSanitizer does. ``counter = counter + 1`` is a load, an add and a
store: when another thread's store falls between them, an update is lost,
and the timeline shows where.

ThreadSanitizer's rule (compiler-rt lib/tsan, the happens-before part of
tsan_rtl_access.cpp and tsan_rtl_mutex.cpp): every thread has a vector
clock; creating a thread gives the child the parent's clock, joining gives
the parent the child's; unlocking a mutex stores the thread's clock in the
mutex and locking joins it into the locker's; an atomic operation does both
on the variable (seq_cst). Two accesses to the same bytes from different
threads race unless both are reads or both atomic (``IsBothReadsOrAtomic``)
or the earlier one happened before the later (``HappensBefore``: its epoch
is at most the later thread's clock entry for its thread), as the shadow
check of tsan_rtl_access.cpp decides. The first race stops the check (``halt_on_error=1``,
as :func:`memlab.native.sanitizer_report` runs the real one); the program
itself runs to the end, so the lost updates can be counted.

The report has TSan's layout for this case (checked against the real
report of examples/pitfalls/data_race.cpp, gcc 12): the two accesses with
their stacks (the six frames of std::thread's start-up as libstdc++ 12
prints them), the location of the global, the threads' creation, SUMMARY.
Deliberately left out: TSan's shadow cells (it remembers ``kShadowCnt`` = 4
accesses per 8 bytes, tsan_defs.h, so on real programs it can miss a race
this model finds), the
memory model of relaxed atomics (every atomic here is seq_cst), more than
the first report, and ``volatile``: it makes the compiler keep each load
and store, which the model does anyway, and orders nothing.
"""

from __future__ import annotations

import random

from ..errors import BadSize, MemlabError, reject
from .asan import SanitizerError

__all__ = ["ThreadProgram", "RaceResult", "counter_program"]

_SEP = "=" * 18
_INVOKE = [
    "void std::__invoke_impl<void, void (*)()>(std::__invoke_other, void (*&&)()) /usr/include/c++/12/bits/invoke.h:61",
    "std::__invoke_result<void (*)()>::type std::__invoke<void (*)()>(void (*&&)()) "
    "/usr/include/c++/12/bits/invoke.h:96",
    "void std::thread::_Invoker<std::tuple<void (*)()> >::_M_invoke<0ul>(std::_Index_tuple<0ul>) "
    "/usr/include/c++/12/bits/std_thread.h:252",
    "std::thread::_Invoker<std::tuple<void (*)()> >::operator()() /usr/include/c++/12/bits/std_thread.h:259",
    "std::thread::_State_impl<std::thread::_Invoker<std::tuple<void (*)()> > >::_M_run() "
    "/usr/include/c++/12/bits/std_thread.h:210",
]
_CREATE = [
    "pthread_create ../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:1001 (libtsan.so.2+0x5e686)",
    "std::thread::_M_start_thread(std::unique_ptr<std::thread::_State, std::default_delete<std::thread::_State> >, "
    "void (*)()) <null> (libstdc++.so.6+0xd4578)",
]
OPS = ("load", "add", "store", "lock", "unlock", "atomic_add")


class RaceResult:
    """What a run did: ``values`` (the shared variables at the end),
    ``timeline`` (``(step, thread, op, var, value, line)`` per step),
    ``lost`` (updates lost: what the threads added to the variables, each
    store counting its thread's change since its load, less what the
    variables gained) and ``report`` (the
    :class:`SanitizerError` ThreadSanitizer stopped at, or None)."""

    def __init__(self, values, timeline, lost, report, lost_at=(), race_steps=None):
        self.values, self.timeline, self.lost, self.report = values, timeline, lost, report
        #: the steps whose store overwrote another thread's store that it never loaded
        self.lost_at = list(lost_at)
        #: (the earlier access, the access ThreadSanitizer reported), as step numbers, or None
        self.race_steps = race_steps

    def __repr__(self):
        return f"<RaceResult {self.values}, {self.lost} lost, {'race' if self.report else 'clean'}>"


class ThreadProgram:
    """Threads over shared globals, interleaved by ``seed``.

    ``switch`` is the chance, at each step, that the scheduler moves to
    another runnable thread (a time slice ends); 0 runs each thread to the
    end in turn (no interleaving), 1 switches all the time.
    """

    def __init__(self, file="prog.cpp", *, seed=0, switch=0.02, exe="a.out", pid=1000):
        if not isinstance(switch, (int, float)) or not 0 <= switch <= 1:
            raise reject(BadSize, switch, f"switch {switch!r} must be a probability between 0 and 1")
        self.file, self.seed, self.switch, self.exe, self.pid = file, seed, switch, exe, pid
        self.globals: dict[str, tuple[int, int, int]] = {}  # name -> (address, size, initial value)
        self.threads: list[tuple[str, list[tuple], int]] = []  # (function, steps, line of creation)
        self._next_global = 0x4090

    def global_var(self, name, size=8, value=0):
        """``static long name = value;``: a global of ``size`` bytes."""
        if size not in (1, 2, 4, 8):
            raise reject(BadSize, size, f"global_var: size {size!r} must be 1, 2, 4 or 8")
        self.globals[name] = (self._next_global, size, value)
        self._next_global += 16
        return name

    def thread(self, func, steps, *, line):
        """``std::thread t(func);`` at ``line``: ``steps`` are tuples
        ``(op, operand, line)``: ``("load", var, l)``, ``("add", k, l)``,
        ``("store", var, l)``, ``("lock", mutex, l)``, ``("unlock", mutex, l)``,
        ``("atomic_add", var, l)`` (add 1 atomically)."""
        for step in steps:
            if len(step) != 3 or step[0] not in OPS:
                raise reject(BadSize, step, f"thread: step {step!r} must be (op, operand, line) with op one of {OPS}")
            if step[0] in ("load", "store", "atomic_add") and step[1] not in self.globals:
                raise MemlabError(f"thread: step {step!r} names {step[1]!r}, which is not a global_var")
        self.threads.append((func, list(steps), line))

    # ---------------------------------------------------------------- run
    def run(self, schedule=None) -> RaceResult:
        """Run to the end. ``schedule``: the thread (1, 2, ...) to step at
        each step, instead of the seeded scheduler; it must name a thread
        that can run, and cover every step."""
        rng = random.Random(self.seed)
        order = None if schedule is None else list(schedule)
        n = len(self.threads)
        values = {name: v for name, (_, _, v) in self.globals.items()}
        clocks = [[0] * (n + 1) for _ in range(n + 1)]  # thread 0 is main
        for t in range(1, n + 1):  # main creates T1..Tn: each starts with main's clock
            clocks[0][0] += 1
            clocks[t] = list(clocks[0])
            clocks[t][t] = 1
        regs = [0] * (n + 1)
        pcs = [0] * (n + 1)
        loaded = [0] * (n + 1)  # the value each thread's register was loaded with
        sync: dict[str, list[int]] = {}  # mutex or atomic variable -> clock
        owner: dict[str, int] = {}
        last_write: dict[str, tuple] = {}  # var -> (thread, epoch, line, step)
        reads: dict[str, dict[int, tuple]] = {}  # var -> thread -> (epoch, line)
        added = dict.fromkeys(values, 0)  # var -> what the threads meant to add to it
        stored = dict.fromkeys(values, 0)  # var -> stores so far; seen[t]: how many when t loaded
        seen = [0] * (n + 1)
        lost_at: list[int] = []
        race_steps = None
        timeline, report = [], None
        current, step_no = 1, 0

        def runnable(t):
            if pcs[t] >= len(self.threads[t - 1][1]):
                return False
            op, arg, _ = self.threads[t - 1][1][pcs[t]]
            return op != "lock" or owner.get(arg) in (None, t)

        while any(runnable(t) for t in range(1, n + 1)):
            if order is not None:
                if step_no >= len(order) or order[step_no] not in range(1, n + 1) or not runnable(order[step_no]):
                    got = order[step_no] if step_no < len(order) else "nothing"
                    raise MemlabError(f"schedule: step {step_no + 1} names thread {got!r}, which cannot run then")
                current = order[step_no]
            else:
                others = [t for t in range(1, n + 1) if t != current and runnable(t)]
                if not runnable(current) or (others and rng.random() < self.switch):
                    current = rng.choice(others)
            t = current
            op, arg, line = self.threads[t - 1][1][pcs[t]]
            pcs[t] += 1
            step_no += 1
            clock = clocks[t]
            value = None
            if op == "load":
                if report is None:
                    report = self._check(arg, t, clock, last_write, reads, False, line, pcs)
                    race_steps = (report.steps[0], step_no) if report else None
                regs[t] = value = values[arg]
                loaded[t] = value
                seen[t] = stored[arg]
                reads.setdefault(arg, {})[t] = (clock[t], line, step_no)
            elif op == "store":
                if report is None:
                    report = self._check(arg, t, clock, last_write, reads, True, line, pcs)
                    race_steps = (report.steps[0], step_no) if report else None
                added[arg] += regs[t] - loaded[t]  # this thread's own change
                if stored[arg] > seen[t]:
                    lost_at.append(step_no)
                stored[arg] += 1
                values[arg] = value = regs[t]
                last_write[arg] = (t, clock[t], line, False, step_no)
                reads[arg] = {}
            elif op == "add":
                regs[t] += arg
                value = regs[t]
            elif op == "atomic_add":
                if report is None:  # an atomic access still races with a plain one
                    report = self._check(arg, t, clock, last_write, reads, True, line, pcs, atomic=True)
                    race_steps = (report.steps[0], step_no) if report else None
                _join(clock, sync.setdefault(arg, [0] * (n + 1)))
                last_write[arg] = (t, clock[t], line, True, step_no)
                stored[arg] += 1
                values[arg] = value = values[arg] + 1
                added[arg] += 1
                sync[arg] = list(clock)
                clock[t] += 1
            elif op == "lock":
                owner[arg] = t
                _join(clock, sync.setdefault(arg, [0] * (n + 1)))
            elif op == "unlock":
                if owner.get(arg) != t:
                    raise MemlabError(f"line {line}: thread T{t} unlocks {arg!r}, which it does not hold")
                del owner[arg]
                sync[arg] = list(clock)
                clock[t] += 1
            timeline.append((step_no, t, op, arg, value, line))
        lost = sum(added[v] - (values[v] - init) for v, (_, _, init) in self.globals.items())
        return RaceResult(values, timeline, lost, report, lost_at, race_steps)

    def _check(self, var, t, clock, last_write, reads, write, line, pcs, atomic=False):
        """ThreadSanitizer's test for one access; the report, or None (two
        atomic accesses never race)."""
        prev = last_write.get(var)
        if prev is not None and prev[0] != t and prev[1] > clock[prev[0]] and not (atomic and prev[3]):
            found = self._report(var, t, write, line, prev[0], True, prev[2], pcs)
            found.steps = (prev[4],)
            return found
        if write:
            for u, (epoch, at, step) in reads.get(var, {}).items():
                if u != t and epoch > clock[u]:
                    found = self._report(var, t, write, line, u, False, at, pcs)
                    found.steps = (step,)
                    return found
        return None

    def _stack(self, func, line):
        offset = 0x1100 + 0x10 * line
        lines = [f"    #0 {func} {self.file}:{line} ({self.exe}+{offset:#x})"]
        lines += [f"    #{i} {frame} ({self.exe}+0x135d)" for i, frame in enumerate(_INVOKE, 1)]
        lines.append(f"    #{len(_INVOKE) + 1} <null> <null> (libstdc++.so.6+0xd44a2)")
        return lines

    def _report(self, var, t, write, line, u, prev_write, prev_line, pcs):
        addr, size, _ = self.globals[var]
        base = 0x555555554000
        kind = ("Write", "write") if write else ("Read", "read")
        prev = "write" if prev_write else "read"
        lines = [_SEP, f"WARNING: ThreadSanitizer: data race (pid={self.pid})"]
        lines.append(f"  {kind[0]} of size {size} at {base + addr:#014x} by thread T{t}:")
        lines += self._stack(self.threads[t - 1][0], line) + [""]
        lines.append(f"  Previous {prev} of size {size} at {base + addr:#014x} by thread T{u}:")
        lines += self._stack(self.threads[u - 1][0], prev_line) + [""]
        lines.append(f"  Location is global '{var}' of size {size} at {base + addr:#014x} ({self.exe}+{addr:#x})")
        lines.append("")
        for k in (t, u):
            _, steps, created = self.threads[k - 1]
            state = "running" if pcs[k] < len(steps) or k == t else "finished"
            lines.append(f"  Thread T{k} (tid={self.pid + k}, {state}) created by main thread at:")
            lines += [f"    #{i} {frame}" for i, frame in enumerate(_CREATE)]
            lines.append(f"    #2 main {self.file}:{created} ({self.exe}+{0x1200 + 0x10 * created + k:#x})")
            lines.append("")
        summary = f"SUMMARY: ThreadSanitizer: data race {self.file}:{line} in {self.threads[t - 1][0]}"
        lines += [summary, _SEP]
        return SanitizerError("ThreadSanitizer", "data race", line, summary, "\n".join(lines) + "\n")


def _join(clock, other):
    for i, v in enumerate(other):
        if v > clock[i]:
            clock[i] = v


def counter_program(fix=None, iterations=1000, seed=0, switch=0.02, file=None):
    """examples/pitfalls/data_race.cpp: two threads add 1 to a shared
    ``long counter`` ``iterations`` times each. ``fix``: None (the pitfall;
    ``volatile`` changes nothing), "mutex" (lock around the increment) or
    "atomic" (``counter.fetch_add(1)``, the fixed file)."""
    if fix not in (None, "volatile", "mutex", "atomic"):
        raise reject(BadSize, fix, f"counter_program: fix {fix!r} must be None, 'volatile', 'mutex' or 'atomic'")
    if iterations.__class__ is not int or not 1 <= iterations <= 1_000_000:
        raise reject(BadSize, iterations, f"counter_program: iterations {iterations!r} must be an int in 1..1000000")
    fixed = fix == "atomic"
    name = file or ("data_race.cpp" if not fixed else "data_race_fixed.cpp")
    prog = ThreadProgram(name, seed=seed, switch=switch)
    prog.global_var("counter", 8, 0)
    if fix == "atomic":  # fixed/data_race.cpp: counter.fetch_add at line 11, threads at line 16
        body, created = [("atomic_add", "counter", 11)], 16
    elif fix == "mutex":
        body = [
            ("lock", "m", 10),
            ("load", "counter", 10),
            ("add", 1, 10),
            ("store", "counter", 10),
            ("unlock", "m", 10),
        ]
        created = 15
    else:  # counter = counter + 1 at line 10, threads created at line 15
        body, created = [("load", "counter", 10), ("add", 1, 10), ("store", "counter", 10)], 15
    for _ in range(2):
        prog.thread("work", body * iterations, line=created)
    return prog
