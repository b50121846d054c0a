"""Re-execute notebooks in place so their stored outputs are current.

``python tools/run_notebooks.py notebooks/*.ipynb`` (what ``make notebooks``
runs). Each notebook runs in its own folder with the kernel's inline matplotlib
backend (headless), so figures are stored as PNG; a failing cell stops.
"""

import os
import sys
import time


def execute(path, timeout=300):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend stores figures as PNG
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    client.execute()
    nbformat.write(nb, path)


def main(paths):
    for path in paths:
        start = time.perf_counter()
        execute(path)
        print(f"{path}: executed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
