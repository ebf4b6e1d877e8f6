"""Run the benchmarks: jaxopt_zoo vs optax side by side, and both vs the memory floor.

    python -m benchmarks.run            # the full run (`make bench`), a few minutes on 2 cores
    python -m benchmarks.run --quick    # smaller sizes (also BENCH_QUICK=1)
    python -m benchmarks.run --only W1,W2 --out somewhere/

Everything runs in one process (W5 in child processes): zoo and optax steps are compiled with
donated params and state, then timed in turn (zoo, optax, zoo, optax, ...) and the median per
step is kept. The floor of a row is ``bytes moved / bandwidth``, the bandwidth being that of a
donated ``x = x + 3*y`` on arrays far larger than cache (together 4x the last-level cache the
machine reports, STREAM's rule: ``workloads.floor_elements``), measured at the start and the end of
the same run: the triad is timed in every row's alternation next to the steps. W7 times
``zoo.muon`` against ``optax.contrib.muon`` on a 12-block transformer-like tree; W8 times
``zoo.soap`` / ``zoo.shampoo`` against pytorch_optimizer's SOAP / Shampoo (torch, float32; skipped
with a message without torch) and compares their state bytes (``benchmarks/vs_torch.py``). W2 rows also
time a *no-op step* for each state layout: a jitted, donated step that returns params and
state untouched, i.e. the host's cost of passing that many arrays through ``jit`` with no
computation at all (a floor no rearrangement of the computation can go below). Results go
to ``benchmarks/results/bench.json`` and ``bench.md``; the markdown table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from . import timing, vs_torch, workloads
from .workloads import Sizes

RESULTS = Path(__file__).resolve().parent / "results"

# Extra zoo contenders for a workload: (label, factory taking the zoo module), each traced with
# the library's defaults (the in-place kernels of ``packed_apply`` on where the install built
# them, ``packed``'s update kernel off); the "kernel" column says whether the compiled step
# calls a kernel.
# * "packed": ``zoo.packed(tx)`` on the ordinary per-leaf params and grads.
# * "packed params, in place": the params kept packed (``zoo.pack_tree``) across steps, stepped
#   by ``zoo.packed_apply``; its step receives per-leaf grads and packs them (as a backward pass
#   through ``unpack_tree`` would), then the kernel writes p and the state over their own buffers
#   (28 bytes per parameter for AdamW).
# * "..., leaf grads": the grads given to ``packed_apply`` per leaf, as they come: the kernel's
#   multi-tensor form reads each leaf where it is, nothing is concatenated; with grads in the
#   step they are ``jax.grad`` of the loss on the unpacked params, so per leaf too.
# * "..., no kernel": the same contender traced with ``JAXOPT_ZOO_KERNELS=0`` (the pure-JAX path,
#   what an install without the kernels runs).
# * "no-op step" (W2 only): the host floor of a layout, a jitted, donated step that returns its
#   params and state untouched, so what it costs is only passing arrays in and out of ``jit``.
VARIANTS: dict = {
    "adamw": [
        ("packed", lambda zoo: zoo.packed(workloads.adamw(zoo))),
        ("packed params, in place", workloads.adamw),
        ("packed params, in place, leaf grads", workloads.adamw),
        ("packed params, in place, no kernel", workloads.adamw),
        ("no-op step", workloads.adamw),
        ("no-op step, packed", lambda zoo: zoo.packed(workloads.adamw(zoo))),
    ],
    "adamw_bf16": [
        ("packed params, in place", workloads.adamw_bf16),
        ("packed params, in place, no kernel", workloads.adamw_bf16),
    ],
    "w3_chain": [
        ("packed", lambda zoo: zoo.packed(workloads.w3_chain(zoo))),
        ("packed params, in place, leaf grads", workloads.w3_chain),
    ],
    "sgd_momentum": [
        ("packed params, in place", workloads.sgd_momentum),
        ("packed params, in place, no kernel", workloads.sgd_momentum),
    ],
    "lion": [
        ("packed params, in place", workloads.lion),
        ("packed params, in place, no kernel", workloads.lion),
    ],
}


def _libs():
    import optax

    import jaxopt_zoo as zoo

    return zoo, optax


def _step(tx, lib):
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return lib.apply_updates(params, updates), state

    return step


def _kernel_targets() -> tuple:
    """The FFI targets of jaxopt_zoo/_kernels/*_cpu.cc."""
    from jaxopt_zoo import _kernels

    return tuple(target for _, _, target in _kernels.KERNELS.values())


@contextlib.contextmanager
def _kernels_off(off: bool):
    """Trace with ``JAXOPT_ZOO_KERNELS=0`` when ``off``, else with the library's default (the
    in-place kernels of ``packed_apply`` on, ``packed``'s update kernel off); the switch is read
    at trace time."""
    old = os.environ.pop("JAXOPT_ZOO_KERNELS", None)
    if off:
        os.environ["JAXOPT_ZOO_KERNELS"] = "0"
    try:
        yield
    finally:
        os.environ.pop("JAXOPT_ZOO_KERNELS", None)
        if old is not None:
            os.environ["JAXOPT_ZOO_KERNELS"] = old


@functools.lru_cache(maxsize=1)
def _triad_runner(n: int) -> timing.TriadRunner:
    """One floor triad for every row (its arrays, 4x the last-level cache, are allocated once)."""
    return timing.TriadRunner(n)


def _no_op_step(params, state, grads):
    del grads
    return params, state


def _packed_apply_step(tx, zoo, pack_grads: bool = True):
    def step(flat_params, state, grads):
        flat_grads = zoo.pack_tree(grads, chunk_size=None) if pack_grads else grads
        return zoo.packed_apply(tx, flat_grads, state, flat_params)

    return step


def _leaf_grads_step(tx, zoo, like, grads_from_loss: bool):
    """``packed_apply`` on packed params with per-leaf grads: those received, or with
    ``grads_from_loss`` those of ``_loss`` taken on the unpacked params (its leaves)."""
    def step(flat_params, state, grads):
        if grads_from_loss:
            grads = jax.grad(_loss)(zoo.unpack_tree(flat_params, like, chunk_size=None))
        return zoo.packed_apply(tx, grads, state, flat_params)

    return step


def _loss(params):
    """The simplest loss whose gradient reaches every param: 0.005 Σ p², so g = 0.01 p."""
    return 0.005 * sum(jnp.vdot(x, x) for x in jax.tree.leaves(params))


def _with_grads_from_loss(step, like=None):
    """``step`` with its grads computed from ``_loss`` inside the jitted function, as in a
    train step (nothing is passed as grads). ``like``: the params' tree when ``step`` runs
    on packed params (the loss then sees them through ``unpack_tree``, and its grads come
    out packed)."""
    zoo, _ = _libs()
    loss = _loss if like is None else (lambda flat: _loss(zoo.unpack_tree(flat, like, chunk_size=None)))

    def train_step(params, state, _):
        return step(params, state, jax.grad(loss)(params))

    return train_step


def _contenders(opt_name: str, zoo, optax, wid: str = "") -> dict:
    make = getattr(workloads, opt_name)
    out = {"zoo": (make(zoo), zoo), "optax": (make(optax), optax)}
    for label, factory in VARIANTS.get(opt_name, []):
        if label.startswith("no-op step") and wid != "W2":  # the host floor matters with many leaves
            continue
        out[label] = (factory(zoo), zoo)
    return out


def time_row(
    wid: str, label: str, opt_name: str, leaves: int, shape: tuple, sizes: Sizes, bandwidth: float,
    grads_from_loss: bool = False,
) -> list:
    """Compile and time every contender on one tree; one result dict per zoo contender.

    ``grads_from_loss``: every step computes its grads from ``_loss`` inside the jitted
    function, as a train step does, instead of receiving them (the p, m, v traffic stays;
    g is computed, not read: 24 bytes per parameter for AdamW).
    """
    zoo, optax = _libs()
    params = workloads.muon_tree(*shape) if opt_name == "muon" else workloads.make_tree(leaves, shape)
    grads = {} if grads_from_loss else workloads.grads_like(params)
    n = workloads.n_params(params)
    bytes_per_param = workloads.BYTES[opt_name] - (4 if grads_from_loss else 0)
    like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params)
    runners, compile_s, programs, kernels = {}, {}, {}, {}
    for name, (tx, lib) in _contenders(opt_name, zoo, optax, wid).items():
        p = timing.copy_tree(params)
        step = _no_op_step if name.startswith("no-op step") else _step(tx, lib)
        if grads_from_loss and not name.startswith("no-op step"):
            step = _with_grads_from_loss(step)
        if name.startswith("packed params"):
            p = zoo.pack_tree(p, chunk_size=None)
            if name.endswith("leaf grads"):
                step = _leaf_grads_step(tx, zoo, like, grads_from_loss)
            elif grads_from_loss:
                step = _with_grads_from_loss(_packed_apply_step(tx, zoo, False), like)
            else:
                step = _packed_apply_step(tx, zoo)
        s = tx.init(p)
        with _kernels_off(name.endswith("no kernel")):
            compiled, compile_s[name] = timing.compile_step(step, p, s, grads)
        programs[name] = timing.program_text(compiled)
        kernels[name] = any(t in compiled.as_text() for t in _kernel_targets())
        runners[name] = timing.Runner(compiled, p, s, grads)
    runners["triad"] = _triad_runner(sizes.floor_elements)
    # About 0.2 s of calls per timed block, at least one.
    inner = {name: max(1, min(50, int(0.2 / max(r.run(1), 1e-6)))) for name, r in runners.items()}
    med = timing.alternate(runners, sizes.reps, inner)
    row_bandwidth = 12.0 * sizes.floor_elements / med["triad"]
    floor = bytes_per_param * n / row_bandwidth
    rows = []
    for name in runners:
        if name in ("optax", "triad"):
            continue
        rows.append(
            {
                "workload": wid,
                "case": label if name == "zoo" else f"{label} [{name}]",
                "optimizer": opt_name,
                "contender": name,
                "leaves": leaves,
                "params": n,
                "bytes_per_param": bytes_per_param,
                "grads_from_loss": grads_from_loss,
                "zoo_ms": med[name] * 1e3,
                "optax_ms": med["optax"] * 1e3,
                "zoo_over_optax": med[name] / med["optax"],
                "floor_ms": floor * 1e3,
                "triad_bytes_per_s": row_bandwidth,
                "zoo_of_floor": floor / med[name],
                "optax_of_floor": floor / med["optax"],
                "zoo_compile_s": compile_s[name],
                "optax_compile_s": compile_s["optax"],
                "compile_ratio": compile_s[name] / compile_s["optax"],
                "same_program_as_optax": programs[name] == programs["optax"],
                "kernel": kernels[name],
            }
        )
    del runners
    return rows


def compile_row(wid: str, label: str, opt_name_or_factory, leaves: int, shape: tuple) -> dict:
    """Compile time only (W4): zoo and optax, each compiled from a fresh transformation in
    alternating order (zoo first, then optax first, ...; the first compile of a code path pays
    one-time costs), three rounds (two where a compile takes over 5 s), the minimum kept."""
    zoo, optax = _libs()
    params = workloads.make_tree(leaves, shape)
    grads = workloads.grads_like(params)
    make = getattr(workloads, opt_name_or_factory) if isinstance(opt_name_or_factory, str) else opt_name_or_factory
    secs: dict = {"zoo": [], "optax": []}
    order = [("zoo", zoo), ("optax", optax)]
    for round_ in range(3):
        if round_ == 2 and max(max(v) for v in secs.values()) > 5.0:
            break
        for name, lib in (order if round_ % 2 == 0 else order[::-1]):
            tx = make(lib)
            secs[name].append(timing.compile_step(_step(tx, lib), params, tx.init(params), grads)[1])
    secs = {name: min(v) for name, v in secs.items()}
    return {
        "workload": wid,
        "case": label,
        "leaves": leaves,
        "params": workloads.n_params(params),
        "zoo_compile_s": secs["zoo"],
        "optax_compile_s": secs["optax"],
        "compile_ratio": secs["zoo"] / secs["optax"],
    }


def memory_row(lib: str, opt_name: str, leaves: int, shape: tuple) -> dict:
    """W5: run one donated step in a child process and read its peak resident memory."""
    cmd = [sys.executable, "-m", "benchmarks._memory", lib, opt_name, str(leaves), "x".join(map(str, shape))]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("JAXOPT_ZOO_KERNELS", None)  # the library's defaults: packed_apply's in-place kernels on
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res.update(workload="W5", lib=lib, optimizer=opt_name, leaves=leaves, shape=list(shape))
    res["peak_over_live"] = res["peak_bytes"] / res["live_bytes"]
    return res


def run(sizes: Sizes, only: set | None = None, log=print) -> dict:
    """Run the selected workloads; return the results as a JSON-able dict."""
    want = lambda w: only is None or w in only  # noqa: E731
    t_start = time.time()
    bw = [timing.measure_bandwidth(sizes.floor_elements, reps=sizes.reps)]
    log(f"triad bandwidth: {bw[0]['bytes_per_s'] / 1e9:.2f} GB/s")
    bandwidth = bw[0]["bytes_per_s"]  # unused by the rows: each times its own triad
    rows, compile_rows, memory_rows, torch_rows, torch_skipped = [], [], [], [], None

    def add(new):
        for r in new:
            log(f"  {r['workload']} {r['case']}: zoo {r['zoo_ms']:.2f} ms, optax {r['optax_ms']:.2f} ms, "
                f"ratio {r['zoo_over_optax']:.2f}, {100 * r['zoo_of_floor']:.0f}% of floor")
        rows.extend(new)

    if want("W1"):
        add(time_row("W1", "AdamW, 1 leaf", "adamw", 1, (sizes.w1_elements,), sizes, bandwidth))
        add(time_row("W1", "AdamW bf16 moments, 1 leaf", "adamw_bf16", 1, (sizes.w1_elements,), sizes, bandwidth))
    if want("W2"):
        # Each tree, and the first one again as a train step (grads made inside the step).
        for (leaves, shape), in_step in [(t, False) for t in sizes.w2_trees] + [(sizes.w2_trees[0], True)]:
            suffix = ", grads in the step" if in_step else ""
            total = leaves * math.prod(shape)
            add(time_row("W2", f"AdamW, {leaves} leaves{suffix}", "adamw", leaves, shape, sizes, bandwidth,
                         grads_from_loss=in_step))
            add(time_row("W2", f"AdamW, 1 leaf of the same size{suffix}", "adamw", 1, (total,), sizes, bandwidth,
                         grads_from_loss=in_step))
    if want("W3"):
        leaves, shape = sizes.w3_tree
        add(time_row("W3", f"clip→adam→decay→schedule, {leaves} leaves", "w3_chain", leaves, shape, sizes, bandwidth))
    if want("W6"):
        for opt in ("sgd_momentum", "lion", "adafactor"):
            add(time_row("W6", f"{opt}, 1 leaf {sizes.w6_shape}", opt, 1, sizes.w6_shape, sizes, bandwidth))
    if want("W7"):
        blocks, width = sizes.w7_muon
        add(time_row("W7", f"Muon+Adam, {blocks}-block tree, width {width}", "muon",
                     len(jax.tree.leaves(workloads.muon_tree(blocks, width))), (blocks, width), sizes, bandwidth))
    if want("W8"):
        torch_rows, torch_skipped = vs_torch.rows(sizes, log=log)
    if want("W4"):
        for leaves in sizes.w4_leaf_counts:
            r = compile_row("W4", f"AdamW, {leaves} leaves", "adamw", leaves, sizes.w4_leaf_shape)
            log(f"  W4 {r['case']}: compile zoo {r['zoo_compile_s']:.2f} s, optax {r['optax_compile_s']:.2f} s")
            compile_rows.append(r)
        for length in sizes.w4_chain_lengths:
            r = compile_row("W4", f"chain of {length}, {sizes.w4_chain_leaves} leaves",
                            workloads.chain_of_length(length), sizes.w4_chain_leaves, sizes.w4_leaf_shape)
            log(f"  W4 {r['case']}: compile zoo {r['zoo_compile_s']:.2f} s, optax {r['optax_compile_s']:.2f} s")
            compile_rows.append(r)
    if want("W5"):
        for leaves, shape in sizes.w5_trees:
            for lib in ["zoo", "optax", "zoo packed", "zoo packed params, in place, kernel"]:
                r = memory_row(lib, "adamw", leaves, shape)
                log(f"  W5 {lib} AdamW {leaves}x{shape}: peak {r['peak_bytes'] / 2**20:.1f} MiB, "
                    f"{r['peak_over_live']:.3f}x params+grads+state")
                memory_rows.append(r)
    bw.append(timing.measure_bandwidth(sizes.floor_elements, reps=sizes.reps))
    log(f"triad bandwidth at the end: {bw[1]['bytes_per_s'] / 1e9:.2f} GB/s")
    return {
        "meta": {
            "jax": jax.__version__,
            "optax": __import__("optax").__version__,
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "backend": jax.default_backend(),
            "sizes": {k: v for k, v in vars(sizes).items()},
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t_start)),
            "seconds": time.time() - t_start,
            "loadavg_end": os.getloadavg(),
        },
        "bandwidth": bw,
        "steps": rows,
        "compile": compile_rows,
        "memory": memory_rows,
        "torch": torch_rows,
        "torch_skipped": torch_skipped,
    }


def markdown(res: dict) -> str:
    """The results as markdown tables."""
    bw = res["bandwidth"]
    lines = [
        f"Measured {res['meta']['started']} ({res['meta']['cpus']} CPUs, jax {res['meta']['jax']}, "
        f"optax {res['meta']['optax']}); triad bandwidth "
        + ", ".join(f"{b['bytes_per_s'] / 1e9:.2f}" for b in bw)
        + " GB/s (start, end); each row's floor uses the triad timed in that row's alternation.",
        "",
    ]
    if res["steps"]:
        lines += [
            "| | case | params | B/param | zoo ms | optax ms | zoo/optax | floor ms | zoo % floor | optax % floor "
            "| compile zoo s | compile optax s | same program | kernel |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|",
        ]
        for r in res["steps"]:
            # A no-op step moves no data: its floor columns would compare nothing.
            no_op = r["contender"].startswith("no-op step")
            of_floor = "–" if no_op else f"{100 * r['zoo_of_floor']:.0f}%"
            lines.append(
                f"| {r['workload']} | {r['case']} | {r['params']:,} | {0 if no_op else r['bytes_per_param']} | "
                f"{r['zoo_ms']:.2f} | {r['optax_ms']:.2f} | {r['zoo_over_optax']:.2f} | {r['floor_ms']:.2f} | "
                f"{of_floor} | {100 * r['optax_of_floor']:.0f}% | "
                f"{r['zoo_compile_s']:.2f} | {r['optax_compile_s']:.2f} | {'yes' if r['same_program_as_optax'] else ''} | "
                f"{'yes' if r.get('kernel') else ''} |"
            )
        lines += [
            "",
            "*same program*: the zoo step compiled to the very program optax's did (the optimized HLO,",
            "metadata aside), so its zoo/optax ratio measures nothing but the run's noise. *kernel*: the",
            "compiled step calls a fused C++ kernel of `zoo.packed` / `zoo.packed_apply` (jaxopt_zoo/_kernels/*_cpu.cc).",
        ]
        lines.append("")
    lines += vs_torch.markdown(res)
    if res["compile"]:
        lines += ["| | compile time | params | zoo s | optax s | zoo/optax |", "|---|---|---:|---:|---:|---:|"]
        for r in res["compile"]:
            lines.append(
                f"| {r['workload']} | {r['case']} | {r['params']:,} | {r['zoo_compile_s']:.2f} | "
                f"{r['optax_compile_s']:.2f} | {r['compile_ratio']:.2f} |"
            )
        lines.append("")
    if res["memory"]:
        lines += [
            "| | donated AdamW step | params+grads+state MiB | peak MiB | peak / (params+grads+state) | XLA temp MiB |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for r in res["memory"]:
            lines.append(
                f"| W5 | {r['lib']}, {r['leaves']} × {tuple(r['shape'])} | {r['live_bytes'] / 2**20:.1f} | "
                f"{r['peak_bytes'] / 2**20:.1f} | {r['peak_over_live']:.3f} | {(r['xla_temp_bytes'] or 0) / 2**20:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                    help="smaller sizes for a smoke run (also BENCH_QUICK=1)")
    ap.add_argument("--toy", action="store_true", help="tiny sizes (the test suite uses these)")
    ap.add_argument("--only", default=None, help="comma-separated workloads, e.g. W1,W2")
    ap.add_argument("--out", default=str(RESULTS), help="directory for bench.json and bench.md")
    args = ap.parse_args(argv)
    sizes = Sizes.toy() if args.toy else Sizes.quick() if args.quick else Sizes()
    only = set(args.only.split(",")) if args.only else None
    res = run(sizes, only, log=lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(res, indent=1, default=str))
    md = markdown(res)
    (out / "bench.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
