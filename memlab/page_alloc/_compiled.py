"""The optional compiled part of the buddy allocator.

``_cbuddy.c`` is built by ``pip install`` where a C compiler exists. It
provides ``Core`` (a zone's free lists in C, see :mod:`.core`) and ``Page``
(:class:`memlab.Page` in C, see :mod:`.buddy`). ``ext`` is that module, or
None where it was not built.

``MEMLAB_PURE_PYTHON`` set (to anything but "" or "0") asks for the path of
a machine without a compiler: zones made afterwards use the Python core
unless they ask for ``core="c"``, and, when it is set at import,
:class:`memlab.Page` is the Python class.
"""

from __future__ import annotations

import importlib
import os

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing at run time)
if TYPE_CHECKING:
    from types import ModuleType

ext: ModuleType | None
try:  # (by name: the layer checker cannot see into a compiled module)
    ext = importlib.import_module(__package__ + "._cbuddy")
except ImportError:  # not built (no compiler)
    ext = None


def pure_python_requested() -> bool:
    """True when the environment asks for the pure-Python path."""
    return os.environ.get("MEMLAB_PURE_PYTHON", "") not in ("", "0")
