"""W5 child process: the peak resident memory of a donated optimizer step.

Run as ``python -m benchmarks._memory LIB OPT LEAVES SHAPE`` (SHAPE like ``128x160``);
prints one JSON line. The parent runs one child per measurement so that nothing else lives
in the process. Peak = resident set high-water mark during three donated steps (reset just
before them through ``/proc/self/clear_refs``) minus the resident set before them, plus the
bytes of params, grads and state that were already resident.
"""

from __future__ import annotations

import json
import sys


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main(argv: list[str]) -> dict:
    lib_name, opt_name, leaves, shape = argv[0], argv[1], int(argv[2]), tuple(int(s) for s in argv[3].split("x"))
    import jax
    import numpy as np

    from benchmarks import workloads

    if lib_name == "optax":
        import optax as lib
    else:
        import jaxopt_zoo as lib
    make = getattr(workloads, opt_name)
    tx = make(lib)
    in_place = lib_name.startswith("zoo packed params, in place")  # params packed, stepped by packed_apply
    if lib_name.startswith("zoo packed") and not in_place:
        tx = lib.packed(tx)
    params = workloads.make_tree(leaves, shape)
    grads = workloads.grads_like(params)
    if in_place:
        params, grads = (lib.pack_tree(t, chunk_size=None) for t in (params, grads))
    state = tx.init(params)

    def step(p, s, g):
        if in_place:
            return lib.packed_apply(tx, g, s, p)
        u, s = tx.update(g, s, p)
        return lib.apply_updates(p, u), s

    compiled = jax.jit(step, donate_argnums=(0, 1)).lower(params, state, grads).compile()
    params, state = compiled(params, state, grads)  # first run: allocations settle
    jax.block_until_ready((params, state))
    nbytes = lambda t: int(sum(np.asarray(x).nbytes if not hasattr(x, "nbytes") else x.nbytes for x in jax.tree.leaves(t)))  # noqa: E731
    live = nbytes(params) + nbytes(grads) + nbytes(state)
    before = _status("VmRSS")
    reset = _reset_peak()
    for _ in range(3):
        params, state = compiled(params, state, grads)
        jax.block_until_ready((params, state))
    hwm = _status("VmHWM")
    mem = compiled.memory_analysis()
    return {
        "live_bytes": live,
        "peak_extra_bytes": max(0, hwm - before),
        "peak_bytes": live + max(0, hwm - before),
        "peak_reset": reset,
        "xla_temp_bytes": int(getattr(mem, "temp_size_in_bytes", 0)) if mem is not None else None,
        "xla_alias_bytes": int(getattr(mem, "alias_size_in_bytes", 0)) if mem is not None else None,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
