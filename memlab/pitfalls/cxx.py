"""C++ library types for the simulated programs: std::vector and the smart pointers.

Each type does, on a :class:`~memlab.pitfalls.Sanitizer`, the heap calls
libstdc++ 12 makes (so the sanitizer sees what it would see):

- :class:`Vector`: ``std::vector<T>`` with elements of ``elem`` bytes; its
  storage comes from ``operator new``; ``push_back`` on a full vector
  allocates ``size + max(size, 1)`` elements (bits/stl_vector.h
  ``_M_check_len``: the capacity doubles), moves the elements and frees the
  old storage with the sized ``operator delete``: every iterator and
  pointer into the old storage now dangles.
- :class:`SharedPtr` (``std::make_shared``): one block holds the control
  block (a vtable pointer, then the use and weak counts, 4 bytes each: 16
  bytes, ``_Sp_counted_ptr_inplace``) and the object after it; copying adds
  one use, destroying takes one; at zero uses the object is destroyed (its
  ``shared_ptr`` members released) and one weak count dropped; at zero weak
  counts the block is freed (``_M_release``: ``_M_dispose`` then
  ``_M_destroy``). :class:`WeakPtr` holds a weak count only. A member
  ``shared_ptr`` (16 bytes: the pointer and the control block) is written
  into the object's bytes, so LeakSanitizer finds it as the real one does.
- :class:`UniquePtr`: one owner; a copy is refused (as the compiler
  refuses it), :meth:`UniquePtr.move` transfers.
- :class:`AutoPtr`: ``std::auto_ptr`` (C++98, removed in C++17): its copy
  moves the object and leaves the source null.

Deliberately left out: allocators other than ``std::allocator``, the
atomic count updates (the counts are plain here), aliasing constructors,
``enable_shared_from_this``; a vector's elements are bytes of ``elem``
size with no constructors or destructors.
"""

from __future__ import annotations

from ..errors import BadSize, MemlabError, reject

__all__ = ["Vector", "SharedPtr", "WeakPtr", "UniquePtr", "AutoPtr"]

_CTRL = 16  # _Sp_counted_ptr_inplace: vptr, _M_use_count, _M_weak_count


def _i32(v):
    return int(v).to_bytes(4, "little")


class Vector:
    """``std::vector<T> v = {values...}`` at ``line``: ``elem``-byte elements."""

    def __init__(self, s, values=(), elem=4, *, line, name=None):
        if elem.__class__ is not int or elem not in (1, 2, 4, 8):
            raise reject(BadSize, elem, f"Vector: element size {elem!r} must be 1, 2, 4 or 8 bytes")
        self.s, self.elem, self.name = s, elem, name
        self.size = self.capacity = len(values)
        self.data = s.new(self.capacity * elem, line=line) if self.capacity else 0
        for i, v in enumerate(values):
            s.write(self.data + i * elem, int(v).to_bytes(elem, "little"), line=line)
        self._root()

    def _root(self):
        if self.name:
            self.s.let(self.name, self.data or None)

    def begin(self):
        """``v.begin()``: the address of the first element (an iterator is a pointer here)."""
        return self.data

    def address(self, i):
        """``&v[i]``."""
        return self.data + i * self.elem

    def get(self, i, *, line):
        """``v[i]``, read through the vector (always its current storage)."""
        if i.__class__ is not int or not 0 <= i < self.size:
            raise reject(BadSize, i, f"v[{i!r}]: the vector holds {self.size} elements (this model checks the index)")
        return int.from_bytes(self.s.read(self.address(i), self.elem, line=line), "little")

    def push_back(self, value, *, line):
        """``v.push_back(value)``: grows by moving to new storage when full."""
        s, elem = self.s, self.elem
        if self.size == self.capacity:
            new_cap = self.size + max(self.size, 1)
            new = s.new(new_cap * elem, line=line)
            if self.size:
                s.write(new, s.read(self.data, self.size * elem, line=line), line=line)
                s.delete(self.data, size=self.capacity * elem, line=line)
            self.data, self.capacity = new, new_cap
            self._root()
        s.write(self.address(self.size), int(value).to_bytes(elem, "little"), line=line)
        self.size += 1

    def destroy(self, *, line):
        """``~vector()``: the storage goes back."""
        if self.data:
            self.s.delete(self.data, size=self.capacity * self.elem, line=line)
        self.data = self.size = self.capacity = 0
        self._root()


class SharedPtr:
    """A ``std::shared_ptr`` to an object made by :meth:`make_shared`.

    ``sp.get()`` is the object's address; ``sp.copy()`` another owner;
    ``sp.reset(line=)`` gives this owner up; ``sp.use_count`` and
    ``sp.weak_count`` read the counts from the control block.
    """

    def __init__(self, s, block, size, members):
        self.s, self.block, self.size, self.members = s, block, size, members

    @classmethod
    def make_shared(cls, s, size, *, line, members=()):
        """``std::make_shared<T>()`` for a ``size``-byte T whose first
        ``len(members)`` 16-byte fields are ``shared_ptr``/``weak_ptr``
        members named ``members`` (empty)."""
        if size.__class__ is not int or size < 16 * len(members):
            raise reject(BadSize, size, f"make_shared: size {size!r} must hold the {len(members)} member(s)")
        block = s.new(_CTRL + size, line=line)
        s.write(block + 8, _i32(1) + _i32(1), line=line)  # use 1, weak 1 (the users' collective one)
        s.write(block + _CTRL, bytes(size), line=line)
        return cls(s, block, size, {name: None for name in members})

    # the counts live in the control block, in the process's memory
    def _count(self, offset):
        return int.from_bytes(self.s.process.read(self.block + offset, 4), "little")

    def _set_count(self, offset, value, line):
        self.s.write(self.block + offset, _i32(value), line=line)

    @property
    def use_count(self):
        return self._count(8) if self.block else 0

    @property
    def weak_count(self):
        return self._count(12) if self.block else 0

    def get(self):
        return self.block + _CTRL if self.block else 0

    def copy(self, *, line):
        """``shared_ptr<T> b = a;``: one more use."""
        self._alive("copy")
        self._set_count(8, self.use_count + 1, line)
        return SharedPtr(self.s, self.block, self.size, self.members)

    def _alive(self, what):
        if not self.block:
            raise MemlabError(f"{what}: this shared_ptr is empty (it was reset or moved from)")

    def set(self, member, value, *, line, weak=False):
        """``obj->member = value`` (a SharedPtr, or None for ``nullptr``;
        ``weak``: the member is a ``weak_ptr``, which takes a weak count):
        the new one is copied in, the old one released."""
        self._alive("set")
        if member not in self.members:
            raise MemlabError(f"set: the object has no member {member!r} (members: {', '.join(self.members)})")
        offset = _CTRL + 16 * list(self.members).index(member)
        new = None if value is None else (WeakPtr(value, line=line) if weak else value.copy(line=line))
        old, self.members[member] = self.members[member], new
        words = (0, 0) if new is None else (new.get(), new.block)
        self.s.write(self.block + offset, words[0].to_bytes(8, "little") + words[1].to_bytes(8, "little"), line=line)
        if old is not None:
            old.reset(line=line)

    def reset(self, *, line):
        """``~shared_ptr()`` / ``reset()``: one use less; the last use
        destroys the object (its members released), the last weak count
        frees the block."""
        if not self.block:
            return
        block, size, members = self.block, self.size, self.members
        self.block = 0
        use = int.from_bytes(self.s.process.read(block + 8, 4), "little") - 1
        self.s.write(block + 8, _i32(use), line=line)
        if use:
            return
        for name in reversed(list(members)):  # _M_dispose(): ~T() releases the members
            if members[name] is not None:
                member, members[name] = members[name], None
                member.reset(line=line)
        _drop_weak(self.s, block, size, line)


def _drop_weak(s, block, size, line):
    weak = int.from_bytes(s.process.read(block + 12, 4), "little") - 1
    s.write(block + 12, _i32(weak), line=line)
    if weak == 0:  # _M_destroy(): the control block and the object's bytes go back
        s.delete(block, size=_CTRL + size, line=line)


class WeakPtr:
    """``std::weak_ptr<T> w = sp;``: does not own; ``lock()`` gives a
    SharedPtr while the object lives, else None."""

    def __init__(self, sp, *, line):
        sp._alive("weak_ptr")
        self.s, self.block, self.size, self.members = sp.s, sp.block, sp.size, sp.members
        self.s.write(self.block + 12, _i32(sp.weak_count + 1), line=line)

    def get(self):
        return self.block + _CTRL if self.block else 0

    def copy(self, *, line):
        self.s.write(self.block + 12, _i32(int.from_bytes(self.s.process.read(self.block + 12, 4), "little") + 1),
                     line=line)  # fmt: skip
        twin = object.__new__(WeakPtr)
        twin.s, twin.block, twin.size, twin.members = self.s, self.block, self.size, self.members
        return twin

    def expired(self):
        return not self.block or int.from_bytes(self.s.process.read(self.block + 8, 4), "little") == 0

    def lock(self, *, line):
        if self.expired():
            return None
        sp = SharedPtr(self.s, self.block, self.size, self.members)
        self.s.write(self.block + 8, _i32(sp.use_count + 1), line=line)
        return sp

    def reset(self, *, line):
        if self.block:
            block, self.block = self.block, 0
            _drop_weak(self.s, block, self.size, line)


class UniquePtr:
    """``std::unique_ptr<T>``: ``UniquePtr.make(s, size, line=)``
    (``std::make_unique``), ``get()``, ``move()`` (the only way to pass it
    on), ``reset(line=)`` (deletes the object)."""

    def __init__(self, s, addr, size):
        self.s, self.addr, self.size = s, addr, size

    @classmethod
    def make(cls, s, size, *, line):
        return cls(s, s.new(size, line=line), size)

    def get(self):
        return self.addr

    def copy(self, **_):
        raise MemlabError("unique_ptr cannot be copied (its copy constructor is deleted): use move()")

    def move(self):
        """``std::move(p)``: a new owner; this one is left empty."""
        other, self.addr = UniquePtr(self.s, self.addr, self.size), 0
        return other

    def reset(self, *, line):
        if self.addr:
            addr, self.addr = self.addr, 0
            self.s.delete(addr, size=self.size, line=line)


class AutoPtr(UniquePtr):
    """``std::auto_ptr<T>`` (C++98): like unique_ptr, but :meth:`copy`
    moves: the source is left null, which is why C++17 removed it."""

    def copy(self, **_):
        return self.move()
