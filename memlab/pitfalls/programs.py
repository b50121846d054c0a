"""The C/C++ pitfalls of examples/pitfalls/, as simulated programs.

Each :class:`Pitfall` has the faulty program and the fixed one, written as
calls on a :class:`~memlab.pitfalls.Sanitizer` with the line numbers of
``examples/pitfalls/<name>.cpp`` and ``examples/pitfalls/fixed/<name>.cpp``,
so the simulated report names the same bug at the same line as the real
AddressSanitizer does on those files (tests/test_pitfalls.py compares them).
Sizes are g++'s on x86-64: ``int`` 4 bytes, a pointer 8, an empty class 1, a
vtable pointer 8; ``delete p`` of a complete type calls the sized
``operator delete(void*, unsigned long)`` with ``sizeof`` the static type.
"""

from __future__ import annotations

from .asan import Sanitizer, SanitizerError
from .cxx import AutoPtr, SharedPtr, UniquePtr, Vector
from .msan import MemorySanitizer
from .threads import counter_program

__all__ = ["Pitfall", "PITFALLS", "run", "check"]


class Pitfall:
    """One pitfall: ``name`` (examples/pitfalls/<name>.cpp), ``title``, the
    ``faulty`` and ``fixed`` programs, ``why`` (the explanation in plain
    words), ``fix``, and ``tool``: "address" (with leaks), "memory" or
    "thread"."""

    __slots__ = ("name", "title", "faulty", "fixed", "why", "fix", "tool")

    def __init__(self, name, title, faulty, fixed, why, fix, tool="address"):
        self.name, self.title, self.faulty, self.fixed = name, title, faulty, fixed
        self.why, self.fix, self.tool = why, fix, tool

    def __repr__(self):
        return f"<Pitfall {self.name}: {self.title} ({self.tool})>"


def run(program, file="prog.cpp", tool="address", **options):
    """Run ``program`` under ``tool``'s checker and return the
    :class:`SanitizerError` it stopped with, or None for a clean run:
    "address": ``program(Sanitizer(file, **options))``, then the leak check
    at exit; "memory": ``program(MemorySanitizer(file))``; "thread":
    ``program(**options)`` returns a :class:`~memlab.pitfalls.ThreadProgram`,
    which runs (``options``: seed, iterations ...)."""
    try:
        if tool == "thread":
            return program(**options).run().report
        s = MemorySanitizer(file) if tool == "memory" else Sanitizer(file, **options)
        program(s)
        if tool == "address":
            s.exit()
    except SanitizerError as found:
        return found
    return None


def check(name, fixed=False, **options):
    """Run pitfall ``name`` (its faulty program, or the ``fixed`` one)
    under its checker; return ``(finding, model)``: the
    :class:`SanitizerError` or None, and what ran (the Sanitizer or
    MemorySanitizer, or the threads' RaceResult) for the pictures.
    ``options`` go to the checker (seed, iterations, switch for the threads;
    quarantine_size_mb, new_delete_type_mismatch ... for AddressSanitizer)."""
    if name not in PITFALLS:
        from ..errors import MemlabError

        raise MemlabError(f"no pitfall {name!r}; known: {', '.join(PITFALLS)}")
    p = PITFALLS[name]
    program = p.fixed if fixed else p.faulty
    if p.tool == "thread":
        model = program(**options).run()
        return model.report, model
    model = MemorySanitizer(f"{name}.cpp") if p.tool == "memory" else Sanitizer(f"{name}.cpp", **options)
    try:
        program(model)
        if p.tool == "address":
            model.exit()
    except SanitizerError as found:
        return found, model
    return None, model


def _ints(values):
    return b"".join(v.to_bytes(4, "little") for v in values)


# ------------------------------------------------------------ the programs
def _overflow(s, last):
    a = s.let("a", s.malloc(10 * 4, line=6))  # int *a = malloc(10 * sizeof(int));
    for i in range(last + 1):  # for (int i = 0; i <= 10; i++)
        s.write(a + 4 * i, _ints([i]), line=8)  # a[i] = i;
    s.free(a, line=9)


def _use_after_free(s):
    n = s.let("n", s.new(4, line=10))  # Node *n = new Node{42};
    s.write(n, _ints([42]), line=10)
    alias = s.let("alias", n)  # Node *alias = n;
    s.delete(n, size=4, line=12)  # delete n;
    s.read(alias, 4, line=13)  # printf("%d\n", alias->value);


def _use_after_free_fixed(s):
    n = UniquePtr.make(s, 4, line=11)  # auto n = std::make_unique<Node>(Node{42});
    s.let("n", n.get())
    s.write(n.get(), _ints([42]), line=11)
    s.read(n.get(), 4, line=12)  # printf("%d\n", n->value);
    n.reset(line=13)  # return 0: ~unique_ptr deletes it, once
    s.let("n", None)


def _double_free(s, clear):
    p = s.let("p", s.malloc(32, line=6))
    s.free(p, line=7)
    if clear:
        p = s.let("p", 0)  # p = nullptr;
    s.free(p, line=9 if clear else 8)


def _mismatch(s, right):
    a = s.let("a", s.new_array(8 * 4, line=4))  # int *a = new int[8];
    if right:
        s.delete_array(a, line=5)
    else:
        s.delete(a, size=4, line=5)  # delete a;  (sizeof(int))


def _non_virtual(s):
    b = s.new(8, line=18)  # Base *b = new Derived;  (sizeof(Derived): the char *name)
    with s.inside("Derived::Derived()", line=18):
        name = s.malloc(64, line=12)
        s.write(name, b"never freed\0", line=12)
        s.store_ptr(b, name, line=12)
    s.let("b", b)
    s.delete(b, size=1, line=19)  # delete b: only ~Base runs; sizeof(Base) is 1


def _virtual(s):
    b = s.new(16, line=17)  # Base *b = new Derived;  (vtable pointer + name)
    with s.inside("Derived::Derived()", line=17):
        name = s.malloc(64, line=11)
        s.write(name, b"freed\0", line=11)
        s.store_ptr(b + 8, name, line=11)
    s.let("b", b)
    with s.inside("Derived::~Derived()", line=18):  # delete b: the virtual destructor
        s.free(s.load_ptr(b + 8, line=12), line=12)
    s.delete(b, size=16, line=18)  # the deleting destructor knows sizeof(Derived)


def _leak(s, fixed):
    p = s.let("p", s.malloc(100, line=6))
    if fixed:
        s.free(p, line=7)
    p = s.let("p", s.malloc(40, line=8 if fixed else 7))  # the only pointer to the 100 bytes is overwritten
    s.free(p, line=9 if fixed else 8)


def _iterators(s, fixed):
    v = Vector(s, [1, 2, 3], 4, line=7, name="v")  # std::vector<int> v = {1, 2, 3};  (capacity 3)
    at = 9 if fixed else 10  # the line of push_back
    it = s.let("it", v.begin())  # auto it = v.begin();  (fixed: std::size_t first = 0;)
    v.push_back(4, line=at)  # capacity 3 is full: new storage for 6, the old one freed
    if fixed:
        v.get(0, line=10)  # v[first]: found through the vector, in its new storage
    else:
        s.read(it, 4, line=11)  # *it: the old storage
    v.destroy(line=at + 2)  # return 0: ~vector
    s.let("it", None)


def _uninitialized(s, fixed):
    alloc = s.calloc if fixed else s.malloc
    a = alloc(4, 4, line=7, col=33) if fixed else alloc(4 * 4, line=7, col=33)
    s.write(a, _ints([1]), line=8, col=10)  # a[0] = 1;
    s.use(a + 8, 4, line=9, col=9)  # if (a[2] > 0)
    s.free(a, line=11)


def _wild(s, fixed):
    s.local("p", frame_line=5)  # int *p;  (MSan's origin: main's frame, set up at its opening brace)
    if fixed:
        value = s.calloc(1, 4, line=6, col=9)  # int value = 0;  (a stack slot; here a written 4-byte block)
        s.set_local("p", value)  # int *p = &value;
    s.use_local("p", line=7 if not fixed else 8, col=8)  # *p = 42: the pointer is used


def _cycle(s, weak):
    # make_shared<Node>: one block, the control block (16 bytes) then the Node (its shared_ptr members)
    members = ("other", "back") if weak else ("other",)
    with s.inside("make_pair", line=19):
        a = SharedPtr.make_shared(s, 16 * len(members), line=11, members=members)
        s.let("a", a.get())
        b = SharedPtr.make_shared(s, 16 * len(members), line=12, members=members)
        s.let("b", b.get())
        a.set("other", b, line=13)  # a->other = b: b's count is 2
        if weak:
            b.set("back", a, line=14, weak=True)  # b->back = a: a weak count, a's use count stays 1
        else:
            b.set("other", a, line=14)  # b->other = a: a cycle, both counts 2
        for name, p in (("b", b), ("a", a)):  # the end of make_pair: ~b, then ~a
            s.let(name, None)
            p.reset(line=15)


def _auto_ptr(s, fixed):
    a = (UniquePtr if fixed else AutoPtr).make(s, 4, line=8)  # auto_ptr<int> a(new int(7));  (fixed: unique_ptr)
    s.write(a.get(), _ints([7]), line=8)
    b = a.move() if fixed else a.copy()  # unique_ptr<int> b = std::move(a);  /  auto_ptr<int> b = a;
    s.let("b", b.get())
    s.read(b.get() if fixed else a.get(), 4, line=10)  # *b  /  *a: a is null after the "copy"
    b.reset(line=11)


PITFALLS = {
    p.name: p
    for p in [
        Pitfall(
            "heap_buffer_overflow",
            "one element past the end of a heap array",
            lambda s: _overflow(s, 10),
            lambda s: _overflow(s, 9),
            "The loop runs 11 times over 10 ints: the last write lands in the redzone after the 40 bytes.",
            "Loop while i < 10 (or use std::vector and at()).",
        ),
        Pitfall(
            "heap_use_after_free",
            "a dangling pointer read after delete",
            _use_after_free,
            _use_after_free_fixed,
            "alias still holds the address of the deleted Node; the chunk is in quarantine, so the read is caught.",
            "One owner (std::unique_ptr): the object lives as long as the pointer that reads it.",
        ),
        Pitfall(
            "double_free",
            "the same block freed twice",
            lambda s: _double_free(s, False),
            lambda s: _double_free(s, True),
            "The second free names a chunk that is already in quarantine.",
            "Set the pointer to nullptr after free; free(NULL) does nothing.",
        ),
        Pitfall(
            "alloc_dealloc_mismatch",
            "new[] given back with delete",
            lambda s: _mismatch(s, False),
            lambda s: _mismatch(s, True),
            "An array from new[] must go back with delete[]: the runtime may keep a count before it.",
            "delete[] a, or better std::vector<int>.",
        ),
        Pitfall(
            "non_virtual_destructor",
            "a Derived deleted through a Base pointer without a virtual destructor",
            _non_virtual,
            _virtual,
            "delete b runs only ~Base and gives operator delete sizeof(Base) = 1 for an 8-byte object; "
            "~Derived never frees name.",
            "Give the base class a virtual destructor.",
        ),
        Pitfall(
            "memory_leak",
            "the only pointer to a block overwritten",
            lambda s: _leak(s, False),
            lambda s: _leak(s, True),
            "Nothing points to the 100-byte block any more, so nothing can free it: LeakSanitizer reports it at exit.",
            "Free the block before overwriting its last pointer (or let a unique_ptr own it).",
        ),
        Pitfall(
            "iterator_invalidation",
            "an iterator kept across push_back",
            lambda s: _iterators(s, False),
            lambda s: _iterators(s, True),
            "push_back on a full vector allocates new storage, moves the elements and frees the old storage; "
            "the iterator still points into the freed block.",
            "Keep an index (or take the iterator again after the vector grows).",
        ),
        Pitfall(
            "uninitialized_read",
            "a branch on a value never written",
            lambda s: _uninitialized(s, False),
            lambda s: _uninitialized(s, True),
            "malloc does not clear memory: a[2] holds whatever the heap held, and the if decides on it.",
            "calloc (or write every element before reading it).",
            tool="memory",
        ),
        Pitfall(
            "wild_pointer",
            "a pointer that was never set, dereferenced",
            lambda s: _wild(s, False),
            lambda s: _wild(s, True),
            "p holds whatever was on the stack: *p = 42 writes to an address nobody chose.",
            "Give every pointer a value where it is declared (an object's address or nullptr).",
            tool="memory",
        ),
        Pitfall(
            "shared_ptr_cycle",
            "two objects that own each other through shared_ptr",
            lambda s: _cycle(s, False),
            lambda s: _cycle(s, True),
            "a owns b and b owns a: when the last outside pointers go, each count stays at 1 and neither "
            "destructor runs. LeakSanitizer finds both blocks pointed to only by each other: two indirect leaks.",
            "Make one direction a weak_ptr, which does not own.",
        ),
        Pitfall(
            "auto_ptr_copy",
            "a copy of std::auto_ptr that moved the object",
            lambda s: _auto_ptr(s, False),
            lambda s: _auto_ptr(s, True),
            "auto_ptr's copy constructor takes the object: a is null after b = a, and *a reads address 0. "
            "This is why C++11 deprecated auto_ptr and C++17 removed it.",
            "std::unique_ptr: it cannot be copied, and std::move says where ownership goes.",
        ),
        Pitfall(
            "data_race",
            "two threads increment a shared counter without a lock",
            lambda **o: counter_program(None, **o),
            lambda **o: counter_program("atomic", **o),
            "counter = counter + 1 is a load, an add and a store; when the other thread stores in between, "
            "one increment is lost. volatile keeps each load and store but orders nothing.",
            "std::atomic<long> (fetch_add is one indivisible step) or a std::mutex around the increment.",
            tool="thread",
        ),
    ]
}
