"""C and C++ memory pitfalls, caught as the sanitizers catch them (lesson 07).

:class:`Sanitizer` runs a short description of a C/C++ program on a
simulated process under AddressSanitizer and LeakSanitizer rules and stops
at the first bug with the report the real tool prints (:mod:`.asan`,
:mod:`.report`); :mod:`.cxx` gives the programs ``std::vector`` and the smart pointers
(:class:`Vector`, :class:`SharedPtr`, :class:`WeakPtr`, :class:`UniquePtr`,
:class:`AutoPtr`) with libstdc++'s heap calls; :class:`MemorySanitizer` follows which bytes were ever written
(:mod:`.msan`); :class:`ThreadProgram` interleaves threads by a seed and checks them as
ThreadSanitizer does (:mod:`.threads`); :data:`PITFALLS` holds the pitfalls of examples/pitfalls/
as faulty and fixed programs (:mod:`.programs`), and :func:`run` runs one.
The real reports of the same C++ files come from
:func:`memlab.native.sanitizer_report`.
"""

from .asan import Chunk, Sanitizer, SanitizerError, rz_size
from .cxx import AutoPtr, SharedPtr, UniquePtr, Vector, WeakPtr
from .msan import MemorySanitizer
from .programs import PITFALLS, Pitfall, check, run
from .threads import RaceResult, ThreadProgram, counter_program

__all__ = [
    "Sanitizer",
    "SanitizerError",
    "Chunk",
    "rz_size",
    "Vector",
    "SharedPtr",
    "WeakPtr",
    "UniquePtr",
    "AutoPtr",
    "MemorySanitizer",
    "PITFALLS",
    "Pitfall",
    "run",
    "check",
    "ThreadProgram",
    "RaceResult",
    "counter_program",
]
