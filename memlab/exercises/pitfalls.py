"""Exercises of lesson 07 (C/C++ pitfalls): find the bug, predict the race.

Every answer is what the simulated sanitizers (:mod:`memlab.pitfalls`,
whose reports match the real tools' on examples/pitfalls/) find:
:func:`find_the_bug` (which line does AddressSanitizer stop at?),
:func:`lost_update` (the final counter after a given interleaving), and the
*why* question :func:`why_quarantine`.
"""

from __future__ import annotations

import random

from .core import Choice, Exercise

__all__ = ["find_the_bug", "lost_update", "why_quarantine", "PITFALL_EXERCISES"]

_BUGS = ("overflow", "use_after_free", "double_free", "mismatch")


def _bug_program(seed):
    """A seeded short C++ program with one bug: its lines (text), the
    simulated steps, and the facts a diagnosis needs."""
    rng = random.Random(seed)
    bug = rng.choice(_BUGS)
    n = rng.choice([4, 8, 10, 16])
    names = rng.sample(["a", "b", "buf", "p", "q", "v"], 2)
    x, y = names
    lines = ["int main()", "{"]
    steps = []  # (line, callable(s, env))

    def emit(text, step=None):
        lines.append("    " + text)
        if step is not None:
            steps.append((len(lines), step))
        return len(lines)

    new_array = bug == "mismatch" or rng.random() < 0.5
    alloc = f"new int[{n}]" if new_array else f"static_cast<int *>(std::malloc({n} * sizeof(int)))"
    made = emit(
        f"int *{x} = {alloc};",
        lambda s, e, ln: e.__setitem__(x, (s.new_array if new_array else s.malloc)(4 * n, line=ln)),
    )
    emit(f"int *{y} = {x};", lambda s, e, ln: e.__setitem__(y, e[x]))
    last = n if bug == "overflow" else n - 1
    loop = emit(f"for (int i = 0; i <= {last}; i++)" if bug == "overflow" else f"for (int i = 0; i < {n}; i++)")
    written = emit(
        f"    {x}[i] = i;",
        lambda s, e, ln: [s.write(e[x] + 4 * i, (i).to_bytes(4, "little"), line=ln) for i in range(last + 1)],
    )
    release = (
        f"delete[] {x};"
        if new_array and bug != "mismatch"
        else (f"delete {x};" if bug == "mismatch" else f"std::free({x});")
    )

    def do_free(s, e, ln):
        if bug == "mismatch":
            s.delete(e[x], size=4, line=ln)
        elif new_array:
            s.delete_array(e[x], line=ln)
        else:
            s.free(e[x], line=ln)

    freed = emit(release, do_free)
    if bug == "use_after_free":
        target = emit(f'std::printf("%d\\n", {y}[{n - 1}]);', lambda s, e, ln: s.read(e[y] + 4 * (n - 1), 4, line=ln))
    elif bug == "double_free":
        again = f"delete[] {y};" if new_array else f"std::free({y});"
        target = emit(again, lambda s, e, ln: (s.delete_array if new_array else s.free)(e[y], line=ln))
    else:
        target = written if bug == "overflow" else freed
    emit("return 0;")
    lines.append("}")
    return lines, steps, {"bug": bug, "target": target, "made": made, "freed": freed, "loop": loop}


def find_the_bug(seed):
    """At which line does AddressSanitizer stop this program?"""
    from ..pitfalls import Sanitizer, SanitizerError  # (when used: import memlab stays light)

    lines, steps, facts = _bug_program(seed)
    s, env = Sanitizer("exercise.cpp"), {}
    found = None
    try:
        for ln, step in steps:
            step(s, env, ln)
    except SanitizerError as err:
        found = err
    answer = found.line
    assert answer == facts["target"]  # (the program is built so that the sanitizer stops there)
    listing = "\n".join(f"{i:2}  {text}" for i, text in enumerate(lines, 1))

    def demo():
        return found.report.splitlines()[:12] + ["..."]

    why = {
        "overflow": "the loop runs while i <= n: its last write lands one int past the array, in the redzone",
        "use_after_free": "the array was given back; the other pointer still holds its address (a dangling pointer)",
        "double_free": "both pointers name the same block: the second release finds it already in quarantine",
        "mismatch": "an array from new[] must go back with delete[]; delete is for a single object",
    }[facts["bug"]]
    return Exercise(
        "find_the_bug",
        seed,
        "This program is built with -fsanitize=address. At which line does AddressSanitizer stop it? "
        f"(Answer with the line number, then press Run it: the report.)\n\n{listing}",
        answer,
        [f"The bug: {why}.", f"ASan reports {found.kind} at line {answer}: {found.summary}"],
        hint="follow each pointer: where is the block made, where is it given back, who uses it afterwards?",
        mistakes=[
            (facts["made"], "that line makes the block; nothing is wrong yet when it runs"),
            (facts["freed"], "the block is given back correctly there; the bug is what happens to it next"),
            (facts["loop"], "the loop header only counts; ASan stops at the access in its body"),
        ],
        demo=demo,
    )


def _lost_update_schedule(seed):
    rng = random.Random(seed)
    while True:  # two threads, two increments each (load, add, store): 12 steps in a seeded order
        order = [1] * 6 + [2] * 6
        rng.shuffle(order)
        if order != sorted(order):
            return order


def lost_update(seed):
    """Two threads run counter = counter + 1 twice each, in this order: the final counter?"""
    from ..pitfalls import ThreadProgram

    order = _lost_update_schedule(seed)
    prog = ThreadProgram("counter.cpp", seed=seed)
    prog.global_var("counter")
    body = [("load", "counter", 6), ("add", 1, 6), ("store", "counter", 6)] * 2
    prog.thread("work", body, line=10)
    prog.thread("work", body, line=10)
    result = prog.run(schedule=order)
    answer = result.values["counter"]
    trace = []
    for step, t, op, _arg, value, _line in result.timeline:
        word = {"load": f"loads {value}", "add": f"adds 1 (register {value})", "store": f"stores {value}"}[op]
        trace.append(f"step {step:2}: T{t} {word}")

    def demo():
        return trace + [f"final counter = {answer}; {result.lost} update(s) lost"]

    order_text = " ".join(f"T{t}" for t in order)
    return Exercise(
        "lost_update",
        seed,
        "Two threads each run `counter = counter + 1;` twice; each increment is a load into a register, an add "
        f"and a store. counter starts at 0. The scheduler runs one step at a time in this order: {order_text}. "
        "Predict the final counter. (Answer, then press Run it: the steps.)",
        answer,
        ["Follow each thread's register: a store writes the value the thread loaded plus one, whatever the "
         "other thread stored in between.", f"The steps give counter = {answer}: {result.lost} update(s) lost."],
        hint="write down, for each step, what each thread's register holds and what counter holds",
        mistakes=[(4, "4 would be right only if no thread loaded before the other's store: check the order")],
        demo=demo,
    )  # fmt: skip


def why_quarantine(seed):
    """Why does AddressSanitizer keep freed blocks in a quarantine?"""

    def demo():
        from ..pitfalls import Sanitizer, SanitizerError

        lines = []
        for mb in (256, 0):
            s = Sanitizer("q.cpp", quarantine_size_mb=mb)
            p = s.malloc(32, line=1)
            s.free(p, line=2)
            q = s.malloc(32, line=3)
            try:
                s.read(p, 4, line=4)
                verdict = "no report: the read lands in q's block"
            except SanitizerError as err:
                verdict = f"report: {err.kind}"
            lines.append(f"quarantine {mb} MB: p = {p:#x}, q = {q:#x}; reading p -> {verdict}")
        return lines

    return Choice(
        "why_quarantine",
        seed,
        "p = malloc(32); free(p); q = malloc(32); then the program reads p[0]. Under AddressSanitizer, why is "
        "this caught, when the same program with glibc alone may read q's data without any error?",
        [
            (
                "ASan does not hand a freed block out again at once: it waits in a quarantine, its bytes poisoned",
                "Right: the freed chunk stays poisoned (shadow fd) while it is in the FIFO quarantine "
                "(256 MB by default), so q gets other memory and the read through p hits poison.",
            ),
            (
                "ASan clears freed memory to zero",
                "Clearing would not make the read an error; what matters is the shadow byte fd and that the block "
                "is not reused while it is poisoned.",
            ),
            (
                "ASan unmaps freed blocks from the address space",
                "The quarantined block stays mapped (an unmapped page would give a SEGV, not a "
                "heap-use-after-free report): only its shadow bytes say it is freed.",
            ),
            (
                "glibc itself checks every pointer on every read",
                "glibc checks nothing on reads; it only checks its own chunk headers in malloc and free.",
            ),
        ],
        0,
        demo=demo,
    )


#: Every generator of this module by name.
PITFALL_EXERCISES = {"find_the_bug": find_the_bug, "lost_update": lost_update, "why_quarantine": why_quarantine}
