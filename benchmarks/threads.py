"""Where the in-place kernels' time goes: arithmetic, threads or memory (issue 18, DESIGN §9).

    python -m benchmarks.threads [--elements N] [--reps R]

Builds ``benchmarks/threads.cc``: a triad ``x = x + 3 y`` and a plain AdamW step driven by the
kernels' own thread harness (``jaxopt_zoo/_kernels/cpu_common.h``, ``ParallelFor``) with its
block size and number of workers set at run time, and times them in turn in one process (each
contender once per round, the minimum and median over the rounds) against XLA's own triad (the
floor's reference in ``benchmarks/run.py``) and the real AdamW kernel of ``zoo.packed_apply``,
all on one float32 buffer of N elements (16 Mi by default). Each row's rate is given as a
share of the XLA triad's bandwidth: 12 bytes per element for a triad, 28 for AdamW. *workers*
counts the threads that run blocks, the calling thread included; ``cores + 1`` is what the
harness did before (the caller and every thread of XLA's pool). Needs ``g++`` (it is skipped
with a message otherwise). Only numbers from a quiet machine mean anything.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp

HERE = Path(__file__).resolve().parent


def _build() -> ctypes.CDLL | None:
    from jaxopt_zoo._kernels import _build as build

    compiler = build.compiler()
    if compiler is None or not build.cpu_supported():
        print("benchmarks.threads: no C++ compiler or no FMA here; nothing to time")
        return None
    out = Path(tempfile.mkdtemp()) / "threads.so"
    subprocess.run([compiler, *build.flags(), f"-I{jax.ffi.include_dir()}", f"-I{build.HERE}", str(HERE / "threads.cc"),
                    "-o", str(out)], check=True, capture_output=True, text=True)
    lib = ctypes.cdll.LoadLibrary(str(out))
    for name in ("JaxoptZooBenchTriad", "JaxoptZooBenchAdamW"):
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, name)), platform="cpu")
    return lib


class _Runner:
    """A jitted function whose donated arguments are replaced by its outputs at every call."""

    def __init__(self, fn, args: list, donated: tuple, bytes_per_element: int):
        self.fn, self.args, self.donated, self.bytes = fn, args, donated, bytes_per_element
        self.times: list = []
        self.run(1)
        self.times.clear()

    def run(self, k: int) -> None:
        t0 = time.perf_counter()
        for _ in range(k):
            out = self.fn(*self.args)
            out = out if isinstance(out, tuple) else (out,)
            for i, o in zip(self.donated, out):
                self.args[i] = o
        jax.block_until_ready(out)
        self.times.append((time.perf_counter() - t0) / k)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=16 * 2**20)
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args(argv)
    os.environ["JAXOPT_ZOO_KERNELS"] = "1"
    if _build() is None:
        return
    import jaxopt_zoo as zoo

    n, f32, cores = args.elements, jnp.float32, os.cpu_count()
    full = lambda v: jnp.full((n,), v, f32)  # noqa: E731
    out = jax.ShapeDtypeStruct((n,), f32)
    triad = jax.ffi.ffi_call("JaxoptZooBenchTriad", out, input_output_aliases={0: 0})
    adamw = jax.ffi.ffi_call("JaxoptZooBenchAdamW", (out, out, out), input_output_aliases={0: 0, 2: 1, 3: 2})
    runners = {"XLA triad": _Runner(jax.jit(lambda x, y: x + 3.0 * y, donate_argnums=0), [full(1), full(1e-6)], (0,), 12)}
    configs = {f"{w} worker{'s' * (w > 1)}, blocks of {b // 1024} Ki": (b, w)
               for b, w in [(1 << 16, cores), (1 << 16, cores + 1), (1 << 16, 1), (1 << 18, cores)]}
    for label, cfg in configs.items():
        c = jnp.asarray(cfg, f32)
        runners[f"C++ triad, {label}"] = _Runner(jax.jit(lambda x, y, c=c: triad(x, y, c), donate_argnums=0),
                                                 [full(1), full(1e-6)], (0,), 12)
    for label, cfg in configs.items():
        c = jnp.asarray(cfg, f32)
        runners[f"C++ AdamW, {label}"] = _Runner(
            jax.jit(lambda p, g, m, v, c=c: adamw(p, g, m, v, c), donate_argnums=(0, 2, 3)),
            [full(1), full(0.01), full(0.01), full(0.01)], (0, 2, 3), 28)
    tx = zoo.adamw(1e-3, weight_decay=1e-4)
    flat = {"float32": (full(1),)}
    runners["zoo.packed_apply AdamW kernel"] = _Runner(
        jax.jit(lambda p, s, g: zoo.packed_apply(tx, g, s, p), donate_argnums=(0, 1)),
        [flat, tx.init(flat), {"float32": (full(0.01),)}], (0, 1), 28)
    for _ in range(args.reps):
        for r in runners.values():
            r.run(3)
    floor = min(runners["XLA triad"].times) / 12  # the XLA triad at its best: seconds per byte moved per element
    print(f"{n:,} float32 elements, {cores} cores, {args.reps} rounds of 3 calls, alternated; "
          f"XLA triad at its best {12 * n / min(runners['XLA triad'].times) / 1e9:.1f} GB/s")
    print("| contender | min ms | median ms | % of the XLA triad's bandwidth (min) |\n|---|---:|---:|---:|")
    for name, r in runners.items():
        best = min(r.times)
        print(f"| {name} | {best * 1e3:.2f} | {statistics.median(r.times) * 1e3:.2f} | {100 * r.bytes * floor / best:.0f}% |")


if __name__ == "__main__":
    main()
