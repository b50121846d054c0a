"""Test set-up: a headless matplotlib for tests that draw in this process.

Notebook kernels started by nbval inherit the environment: MPLBACKEND is
removed so they use the inline backend (headless too) and produce the same
figure outputs as the stored notebooks."""

import os

import matplotlib

os.environ.pop("MPLBACKEND", None)
matplotlib.use("Agg")
