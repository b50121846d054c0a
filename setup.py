"""The optional compiled buddy core (memlab/page_alloc/_cbuddy.c).

Everything else is in pyproject.toml. Without a C compiler the build goes on
without it and memlab runs its pure-Python buddy allocator (the same PFNs,
slower); MEMLAB_PURE_PYTHON=1 chooses that path even when the core is built.
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build the core if this machine can; otherwise say so in one line."""

    def run(self):
        try:
            super().run()
        except Exception as err:  # no compiler, no Python headers ...
            print(f"memlab: the compiled buddy core was not built ({type(err).__name__}); using pure Python")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as err:
            print(f"memlab: the compiled buddy core was not built ({type(err).__name__}); using pure Python")


setup(
    ext_modules=[
        Extension(
            "memlab.page_alloc._cbuddy",
            ["memlab/page_alloc/_cbuddy.c"],
            extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-cast-function-type"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
