"""Python subprocesses of the suite, with the repository's jaxopt_zoo and an explicit XLA_FLAGS.

A child never takes XLA_FLAGS from ``os.environ`` as it is when the child starts: tests change
it in-process (the CLI's ``--devices`` adds a device count), and the suite's own fast-compile
flags (tests/conftest.py) must reach only the children that may share them. So each caller
names the flags: ``DEFAULT_XLA_FLAGS`` (XLA's default compile pipeline:
``run_under_xla_defaults``), ``SUITE_XLA_FLAGS`` (the suite's), or ``None`` (no XLA_FLAGS at all,
as a user runs a command), each as the suite started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import DEFAULT_XLA_FLAGS

ROOT = Path(__file__).resolve().parents[1]


def python_env(xla_flags: str | None, **extra: str) -> dict:
    """``os.environ`` with the repository first on PYTHONPATH, XLA_FLAGS set to ``xla_flags``
    (``None``: removed) and the ``extra`` variables."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if xla_flags is None:
        env.pop("XLA_FLAGS", None)
    else:
        env["XLA_FLAGS"] = xla_flags
    return env


def run_python(code_or_args: str | Sequence[str], *, xla_flags: str | None, cwd: Path | str = ROOT,
               timeout: float | None = None, **extra_env: str) -> subprocess.CompletedProcess:
    """Run ``python -c code`` (a string) or ``python *args`` (a sequence: a script, ``-m module``,
    ...) with this interpreter and ``python_env(xla_flags, **extra_env)``; output captured as
    text, the return code left to the caller."""
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=python_env(xla_flags, **extra_env),
                          capture_output=True, text=True, timeout=timeout)


def run_under_xla_defaults(code_or_args: str | Sequence[str], *, timeout: float | None = None,
                           **extra_env: str) -> subprocess.CompletedProcess:
    """``run_python`` under XLA's default compile pipeline: XLA_FLAGS as the suite started,
    without the suite's fast-compile flags (``DEFAULT_XLA_FLAGS``)."""
    return run_python(code_or_args, xla_flags=DEFAULT_XLA_FLAGS, timeout=timeout, **extra_env)
