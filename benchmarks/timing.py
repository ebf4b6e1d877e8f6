"""Timing primitives: the bandwidth floor, alternating step timing, compile timing.

Every step function has the signature ``step(params, state, grads) -> (params, state)`` and
is jitted with ``donate_argnums=(0, 1)``, so params and optimizer state are updated in place
the way a training loop runs them. Times are wall-clock medians with ``block_until_ready``.
"""

from __future__ import annotations

import re
import statistics
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp


def _triad(x, y):
    return x + 3.0 * y


def measure_bandwidth(n: int, reps: int = 7, inner: int = 3) -> dict:
    """Bandwidth (bytes/s) of a donated in-place ``x = x + 3*y`` on float32 arrays of ``n`` elements.

    The triad reads ``x`` and ``y`` and writes ``x``: 12 bytes per element.
    """
    f = jax.jit(_triad, donate_argnums=0)
    x = jnp.ones((n,), jnp.float32)
    y = jnp.full((n,), 1e-6, jnp.float32)
    x = f(x, y).block_until_ready()  # compile and touch the output pages
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            x = f(x, y)
        x.block_until_ready()
        times.append((time.perf_counter() - t0) / inner)
    t = statistics.median(times)
    return {"elements": n, "seconds": t, "bytes_per_s": 12.0 * n / t}


def compile_step(step: Callable, params: Any, state: Any, grads: Any):
    """Lower and compile ``step`` with params and state donated; return (compiled, seconds)."""
    t0 = time.perf_counter()
    compiled = jax.jit(step, donate_argnums=(0, 1)).lower(params, state, grads).compile()
    return compiled, time.perf_counter() - t0


def program_text(compiled) -> str:
    """The optimized HLO of a compiled step without its metadata (op names, source lines),
    module and instruction names: equal texts mean the same program, whichever library
    traced it."""
    blocks = compiled.as_text().split("\n\n")
    # Drop the tables of source files, functions and stack frames the metadata points into.
    blocks = [b for b in blocks if b.split("\n", 1)[0] not in _SOURCE_TABLES]
    text = re.sub(r", metadata=\{[^}]*\}", "", "\n\n".join(blocks))
    text = re.sub(r"^HloModule \S+", "HloModule", text, count=1)
    # Instruction names come from the traced source (``square`` or ``mul`` for x * x): number
    # them in order of appearance instead.
    names: dict = {}
    return re.sub(r"%[\w.\-]+", lambda m: names.setdefault(m.group(0), f"%{len(names)}"), text)


_SOURCE_TABLES = {"FileNames", "FunctionNames", "FileLocations", "StackFrames"}


def copy_tree(tree: Any) -> Any:
    """Fresh buffers for ``tree`` (donation consumes the caller's arrays)."""
    return jax.tree.map(lambda x: jnp.array(x, copy=True), tree)


class TriadRunner:
    """The floor's reference kernel as a runner: a donated ``x = x + 3*y`` on ``n`` float32s.

    Timed in the same alternation as the optimizer steps, so each row's floor is measured
    under the same machine load as the steps it is compared with.
    """

    def __init__(self, n: int):
        self.n = n
        self.f = jax.jit(_triad, donate_argnums=0)
        self.x = jnp.ones((n,), jnp.float32)
        self.y = jnp.full((n,), 1e-6, jnp.float32)
        self.x = self.f(self.x, self.y).block_until_ready()

    def run(self, k: int) -> float:
        t0 = time.perf_counter()
        for _ in range(k):
            self.x = self.f(self.x, self.y)
        self.x.block_until_ready()
        return (time.perf_counter() - t0) / k


class Runner:
    """Holds one compiled step and its live (donated) buffers; ``run(k)`` times k steps."""

    def __init__(self, compiled, params, state, grads):
        self.compiled = compiled
        self.params, self.state, self.grads = params, state, grads
        self.params, self.state = compiled(self.params, self.state, self.grads)  # warm up
        jax.block_until_ready((self.params, self.state))

    def run(self, k: int) -> float:
        t0 = time.perf_counter()
        for _ in range(k):
            self.params, self.state = self.compiled(self.params, self.state, self.grads)
        jax.block_until_ready((self.params, self.state))
        return (time.perf_counter() - t0) / k


def alternate(runners: dict, reps: int, inner) -> dict:
    """Time the runners in turn (a, b, c, a, b, c, ...); return the median seconds per step.

    ``inner`` is the number of calls per timed block: an int, or a dict by runner name.
    """
    times: dict = {name: [] for name in runners}
    for _ in range(reps):
        for name, r in runners.items():
            times[name].append(r.run(inner[name] if isinstance(inner, dict) else inner))
    return {name: statistics.median(ts) for name, ts in times.items()}
