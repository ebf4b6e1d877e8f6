"""Where the in-place kernels' time goes: arithmetic, threads or memory (issue 18, DESIGN §9).

    python -m benchmarks.threads [--elements N] [--reps R] [--one-core]

Builds ``benchmarks/threads.cc``: a triad ``x = x + 3 y`` and a plain AdamW step driven by the
kernels' own thread harness (``jaxopt_zoo/_kernels/cpu_common.h``, ``ParallelFor``) with its
block size and number of workers set at run time, and times them in turn in one process (each
contender once per round, the minimum and median over the rounds) against XLA's own triad (the
floor's reference in ``benchmarks/run.py``) and the real AdamW kernel of ``zoo.packed_apply``,
all on one float32 buffer of N elements (16 Mi by default). Each row's rate is given as a
share of the XLA triad's bandwidth: 12 bytes per element for a triad, 28 for AdamW. *workers*
counts the threads that run blocks, the calling thread included; ``cores + 1`` is what the
harness did before (the caller and every thread of XLA's pool).

The AdamW loop comes in variants (``threads.cc``, one function each, same numbers): software
prefetch, streaming stores, two passes per piece, and the access pattern alone with one add per
stream. The XLA triad is also timed on ``make bench``'s floor size (``workloads.floor_elements``:
arrays together 4x the last-level cache, so from memory; per N elements) and as ``make bench``
timed its floor before that (N elements in blocks of ~50 calls in a row, so that 16 Mi
elements, 128 MiB, stayed in a large L3 cache between calls).
Each row also gives its time over the real kernel's in the same round (the median over the
rounds): on a loaded machine that ratio is steadier than either time. Run it under
``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` to have XLA's buffers on 2 MiB pages (the header line
says how much of the memory is). ``--one-core`` instead builds and runs ``one_core.cc``: the same
loops (``loops.h``) on one thread in its CPU time, on 4 KiB and 2 MiB pages, and the triad's
bandwidth by size (what the L3 cache holds). Needs ``g++`` (it is skipped with a message
otherwise). Only numbers from a quiet machine mean anything.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from . import workloads

HERE = Path(__file__).resolve().parent


def _compiler():
    from jaxopt_zoo._kernels import _build as build

    compiler = build.compiler()
    if compiler is None or not build.cpu_supported():
        print("benchmarks.threads: no C++ compiler or no FMA here; nothing to time")
        return None, build
    return compiler, build


def _one_core(n: int, reps: int) -> None:
    compiler, build = _compiler()
    if compiler is None:
        return
    out = Path(tempfile.mkdtemp()) / "one_core"
    flags = [f for f in build.flags() if f not in ("-shared", "-fPIC")]
    subprocess.run([compiler, *flags, str(HERE / "one_core.cc"), "-o", str(out)], check=True, capture_output=True,
                   text=True)
    subprocess.run([str(out), str(n), str(reps)], check=True)


def _build() -> ctypes.CDLL | None:
    compiler, build = _compiler()
    if compiler is None:
        return None
    out = Path(tempfile.mkdtemp()) / "threads.so"
    subprocess.run([compiler, *build.flags(), f"-I{jax.ffi.include_dir()}", f"-I{build.HERE}", str(HERE / "threads.cc"),
                    "-o", str(out)], check=True, capture_output=True, text=True)
    lib = ctypes.cdll.LoadLibrary(str(out))
    for name in ("JaxoptZooBenchTriad", "JaxoptZooBenchAdamW"):
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, name)), platform="cpu")
    return lib


class _Runner:
    """A jitted function whose donated arguments are replaced by its outputs at every call.

    ``times`` are seconds per call over ``scale`` N elements; ``calls`` is the number of calls of
    a round."""

    def __init__(self, fn, args: list, donated: tuple, bytes_per_element: int, scale: float = 1, calls: int = 3):
        self.fn, self.args, self.donated, self.bytes = fn, args, donated, bytes_per_element
        self.scale, self.calls = scale, calls
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


# The AdamW loops of threads.cc, by their index in kVariants.
VARIANTS = {
    "prefetch 1 KiB ahead (T0)": 1,
    "prefetch 1 KiB ahead (T1)": 2,
    "prefetch 4 KiB ahead (T1)": 3,
    "streaming stores": 4,
    "two passes per 4 Ki": 5,
    "the access pattern alone (adds)": 6,
}


def _huge_share() -> str:
    try:
        text = Path("/proc/self/smaps_rollup").read_text()
        huge, anon = (int(re.search(rf"{k}:\s+(\d+)", text).group(1)) for k in ("AnonHugePages", "Anonymous"))
    except (OSError, AttributeError):
        return "huge pages: unknown"
    return f"{100 * huge / max(anon, 1):.0f}% of anonymous memory on huge pages"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=16 * 2**20)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--one-core", action="store_true", help="the loops on one thread in its CPU time (one_core.cc)")
    args = parser.parse_args(argv)
    if args.one_core:
        _one_core(args.elements, args.reps)
        return
    os.environ["JAXOPT_ZOO_KERNELS"] = "1"
    if _build() is None:
        return
    import jaxopt_zoo as zoo

    n, f32, cores = args.elements, jnp.float32, os.cpu_count()
    full = lambda v: jnp.full((n,), v, f32)  # noqa: E731
    out = jax.ShapeDtypeStruct((n,), f32)
    triad = jax.ffi.ffi_call("JaxoptZooBenchTriad", out, input_output_aliases={0: 0})
    adamw = jax.ffi.ffi_call("JaxoptZooBenchAdamW", (out, out, out), input_output_aliases={0: 0, 2: 1, 3: 2})
    xla_triad = jax.jit(lambda x, y: x + 3.0 * y, donate_argnums=0)
    runners = {"XLA triad": _Runner(xla_triad, [full(1), full(1e-6)], (0,), 12)}
    floor_n = workloads.floor_elements()
    runners["XLA triad on make bench's floor size (per N)"] = _Runner(
        xla_triad, [jnp.ones((floor_n,), f32), jnp.full((floor_n,), 1e-6, f32)], (0,), 12, scale=floor_n / n)
    runners["XLA triad, 50 calls in a row"] = _Runner(xla_triad, [full(1), full(1e-6)], (0,), 12, calls=50)
    configs = {f"{w} worker{'s' * (w > 1)}, blocks of {b // 1024} Ki": (b, w)
               for b, w in [(1 << 16, cores), (1 << 16, cores + 1), (1 << 16, 1), (1 << 18, cores)]}
    default = next(iter(configs))
    c = jnp.asarray((*configs[default], 0), f32)
    runners[f"C++ triad, {default}"] = _Runner(jax.jit(lambda x, y, c=c: triad(x, y, c), donate_argnums=0),
                                               [full(1), full(1e-6)], (0,), 12)

    def adamw_runner(cfg):
        c = jnp.asarray(cfg, f32)
        return _Runner(jax.jit(lambda p, g, m, v, c=c: adamw(p, g, m, v, c), donate_argnums=(0, 2, 3)),
                       [full(1), full(0.01), full(0.01), full(0.01)], (0, 2, 3), 28)

    for label, cfg in configs.items():
        runners[f"C++ AdamW, {label}"] = adamw_runner((*cfg, 0))
    for label, variant in VARIANTS.items():
        runners[f"C++ AdamW, {label}, {default}"] = adamw_runner((*configs[default], variant))
    tx = zoo.adamw(1e-3, weight_decay=1e-4)
    flat = {"float32": (full(1),)}
    runners["zoo.packed_apply AdamW kernel"] = _Runner(
        jax.jit(lambda p, s, g: zoo.packed_apply(tx, g, s, p), donate_argnums=(0, 1)),
        [flat, tx.init(flat), {"float32": (full(0.01),)}], (0, 1), 28)
    kernel = runners["zoo.packed_apply AdamW kernel"]
    for _ in range(args.reps):
        for r in runners.values():
            r.run(r.calls)
    floor = min(runners["XLA triad"].times) / 12  # the XLA triad at its best: seconds per byte moved per element
    print(f"{n:,} float32 elements, {cores} cores, {args.reps} rounds of 3 calls (unless said), alternated; "
          f"XLA triad at its best {12 * n / min(runners['XLA triad'].times) / 1e9:.1f} GB/s; {_huge_share()}")
    print("| contender | min ms | median ms | % of the XLA triad's bandwidth (min) | time / kernel's (median of rounds) |\n"
          "|---|---:|---:|---:|---:|")
    for name, r in runners.items():
        best, median = min(r.times) / r.scale, statistics.median(r.times) / r.scale
        ratio = statistics.median(t / r.scale / k for t, k in zip(r.times, kernel.times))
        print(f"| {name} | {best * 1e3:.2f} | {median * 1e3:.2f} | {100 * r.bytes * floor / best:.0f}% | {ratio:.3f} |")


if __name__ == "__main__":
    main()
