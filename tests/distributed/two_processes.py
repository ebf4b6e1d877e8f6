"""Two ``jax.distributed`` processes against one process, on the same global mesh of 8 CPU devices.

Run by ``tests/distributed/test_two_processes.py`` (``make test-distributed``), or by hand from
the repository root: ``python tests/distributed/two_processes.py`` (it prints a JSON summary and
exits 1 when the runs differ).

The same training runs twice, on a ``Mesh`` of shape (2, 4) (``data`` x ``model``):

* as **two processes** on localhost, each with 4 CPU devices
  (``--xla_force_host_platform_device_count=4``), joined by ``jax.distributed.initialize``
  (CPU collectives through gloo, JAX's default): the mesh's ``data`` axis crosses the
  processes, so the gradient's all-reduce over the batch goes between them;
* as **one process** with 8 CPU devices, the same mesh. It joins ``jax.distributed`` too, as a
  job of one process: only then do its collectives go through gloo as the two processes' do.
  Without it XLA's in-process collectives sum the gradient's all-reduce (over the 4 ``model``
  shards of ``h @ w2``) in another order: gradients differ in the last bit (~1e-7 relative in
  float32), muon's end state by ~5e-7, and SOAP's bases, whose first ``eigh`` sees repeated zero
  eigenvalues (see the soap docstring), take other vectors and the runs part.

A small MLP, its parameters sharded over ``model`` (the batch over ``data``), is trained with
``zoo.soap`` and ``zoo.muon`` (their defaults, but the learning rate): ``SAVE_AT`` steps,
then params and optimizer states are saved with orbax (every process writes its shards into
one shared directory), restored into fresh sharded arrays (checked equal to what was saved),
and trained on to ``STEPS``. The final params and states, gathered to the host, are written
by process 0 to an ``.npz``; the launcher compares the two runs leaf by leaf, bit for bit.

A worker that fails makes the launcher stop the other (which would otherwise wait at a
collective) and report both stderr tails; every run has a deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 24  # soap refreshes its bases every 10 steps: at steps 10 and 20, before and after the restore
SAVE_AT = 12
MESH_SHAPE = (2, 4)  # (data, model)
BATCH, D_IN, D_HIDDEN, D_OUT = 32, 12, 16, 8
TIMEOUT = 240.0  # seconds for one run (both workers), on a loaded 2-core machine


# --- the worker -----------------------------------------------------------------------------------


def _worker(args) -> None:
    t0 = time.monotonic()
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + f" --xla_force_host_platform_device_count={args.local_devices}").strip()
    import jax

    # the one-process run joins jax.distributed too (a job of one): only then are its collectives
    # gloo's, as the two processes' are (see the module docstring)
    jax.distributed.initialize(coordinator_address=f"localhost:{args.port}", num_processes=args.num_processes,
                               process_id=args.process_id, initialization_timeout=120)
    import warnings

    warnings.simplefilter("error")  # as in the test suite

    import jax.numpy as jnp
    import numpy as np
    import orbax.checkpoint as ocp
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxopt_zoo as zoo

    assert jax.process_count() == args.num_processes, jax.process_count()
    assert jax.local_device_count() == args.local_devices, jax.local_devices()
    assert jax.device_count() == 8, jax.devices()
    # devices ordered by process, then by local id: the same grid in both runs
    devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    mesh = Mesh(np.array(devices).reshape(MESH_SHAPE), ("data", "model"))
    specs = {"w1": P(None, "model"), "b1": P("model"), "w2": P("model", None), "b2": P()}

    rng = np.random.default_rng(0)  # every process makes the same global arrays and keeps its shards
    host = {
        "w1": rng.normal(size=(D_IN, D_HIDDEN)) / np.sqrt(D_IN),
        "b1": 0.1 * rng.normal(size=(D_HIDDEN,)),
        "w2": rng.normal(size=(D_HIDDEN, D_OUT)) / np.sqrt(D_HIDDEN),
        "b2": np.zeros(D_OUT),
    }
    x_host = rng.normal(size=(BATCH, D_IN))
    y_host = np.sin(x_host @ rng.normal(size=(D_IN, D_OUT)))

    def global_array(a, spec):
        a = np.asarray(a, np.float32)
        return jax.make_array_from_callback(a.shape, NamedSharding(mesh, spec), lambda index: a[index])

    def fresh_params():
        return {k: global_array(v, specs[k]) for k, v in host.items()}

    x = global_array(x_host, P("data", None))
    y = global_array(y_host, P("data", None))

    def loss(p, x, y):
        h = jnp.tanh(x @ p["w1"] + p["b1"])
        return jnp.mean((h @ p["w2"] + p["b2"] - y) ** 2)

    replicated_loss = jax.jit(loss, out_shardings=NamedSharding(mesh, P()))
    # the gradient alone first: where a difference comes from the collectives, not the optimizers
    grad = jax.jit(jax.grad(loss), out_shardings={k: NamedSharding(mesh, s) for k, s in specs.items()})
    results = {f"grad[{k!r}]": np.asarray(v) for k, v in
               multihost_utils.process_allgather(grad(fresh_params(), x, y), tiled=True).items()}
    notes = {"setup.seconds": round(time.monotonic() - t0, 1)}
    param_shardings = {k: NamedSharding(mesh, s) for k, s in specs.items()}
    for name, tx in (("soap", zoo.soap(1e-2)), ("muon", zoo.muon(2e-2))):
        init = jax.jit(tx.init)

        @jax.jit
        def step(p, s, x, y, tx=tx):
            g = jax.grad(loss)(p, x, y)
            u, s = tx.update(g, s, p)
            return jax.lax.with_sharding_constraint(zoo.apply_updates(p, u), param_shardings), s

        params = fresh_params()
        state = init(params)
        for _ in range(SAVE_AT):
            params, state = step(params, state, x, y)

        path = Path(args.ckpt) / name
        with ocp.StandardCheckpointer() as ckptr:
            ckptr.save(path, {"params": params, "state": state})
        # restored into new arrays: shapes, dtypes and shardings as the training step gives them
        # (jit(init)'s outputs do not depend on the params' values: they come unsharded)
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"params": params, "state": state})
        with ocp.StandardCheckpointer() as ckptr:
            restored = ckptr.restore(path, target)
        for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves({"params": params, "state": state})):
            assert a.sharding.is_equivalent_to(b.sharding, a.ndim), (a.sharding, b.sharding)
            for sa, sb in zip(a.addressable_shards, b.addressable_shards):
                assert np.array_equal(np.asarray(sa.data), np.asarray(sb.data)), "restored != saved"
        params, state = restored["params"], restored["state"]

        for _ in range(STEPS - SAVE_AT):
            params, state = step(params, state, x, y)
        final = multihost_utils.process_allgather({"params": params, "state": state}, tiled=True)
        leaves, _ = jax.tree_util.tree_flatten_with_path(final)
        for path_, leaf in leaves:
            results[f"{name}{jax.tree_util.keystr(path_)}"] = np.asarray(leaf)
        notes[f"{name}.loss"] = float(replicated_loss(params, x, y).addressable_data(0))
        notes[f"{name}.initial_loss"] = float(replicated_loss(fresh_params(), x, y).addressable_data(0))
        notes[f"{name}.seconds"] = round(time.monotonic() - t0, 1)

    if jax.process_index() == 0:
        np.savez(args.out, **results)
        Path(args.out).with_suffix(".json").write_text(json.dumps(notes))
    multihost_utils.sync_global_devices("two_processes:done")  # nobody leaves while another still needs it
    jax.distributed.shutdown()


# --- the launcher ---------------------------------------------------------------------------------


class RunFailed(AssertionError):
    """A run did not finish cleanly; the message carries every worker's stderr tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))  # free on every interface: the coordinator listens on all of them
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    # each worker's device count comes from --local-devices, never from the caller's XLA_FLAGS
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                if not f.startswith("--xla_force_host_platform_device_count"))
    env["JAX_PLATFORMS"] = "cpu"
    return env


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # the worker and anything it started (own session)
            except ProcessLookupError:
                pass
    for p in procs:
        p.wait()


def run(num_processes: int, workdir: Path, timeout: float = TIMEOUT) -> tuple[dict, dict, float]:
    """One run (``num_processes`` workers, 8 devices in all); returns its final leaves, notes and wall time.

    The coordinator's port is one the OS called free a moment before; should another program take
    it in between (the coordinator then fails, or crashes, after gRPC's "Failed to add port to
    server"), the run is tried again on another port (twice at most)."""
    for attempt in range(3):
        try:
            return _run_once(num_processes, workdir / f"try{attempt}", timeout, free_port())
        except RunFailed as e:
            if "Failed to add port to server" not in str(e) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _run_once(num_processes: int, workdir: Path, timeout: float, port: int) -> tuple[dict, dict, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "final.npz"
    procs, logs = [], []
    t0 = time.monotonic()
    try:
        for i in range(num_processes):
            log = open(workdir / f"worker{i}.stderr", "w+")  # closed below
            logs.append(log)
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--process-id", str(i),
                   "--num-processes", str(num_processes), "--local-devices", str(8 // num_processes),
                   "--port", str(port), "--ckpt", str(workdir / "ckpt"), "--out", str(out)]
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env=_env(), start_new_session=True))
        failed = None
        while any(p.poll() is None for p in procs):
            bad = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
            if bad:
                failed = f"worker {bad[0]} exited with {procs[bad[0]].returncode}"
                time.sleep(2.0)  # a moment for the other to write its own error, then stop it
                break
            if time.monotonic() - t0 > timeout:
                failed = f"timed out after {timeout:.0f} s"
                break
            time.sleep(0.1)
        _stop(procs)
        if failed is None and any(p.returncode != 0 for p in procs):
            failed = "exit codes " + str([p.returncode for p in procs])
        if failed is None and not out.exists():
            failed = f"no output {out}"
        if failed:
            tails = []
            for i, log in enumerate(logs):
                log.seek(0)
                tails.append(f"--- worker {i} of {num_processes} (exit {procs[i].returncode}) ---\n{log.read()[-6000:]}")
            raise RunFailed(f"{num_processes}-process run: {failed}\n" + "\n".join(tails))
    finally:
        _stop(procs)
        for log in logs:
            log.close()
    import numpy as np

    with np.load(out) as data:
        leaves = {k: data[k] for k in data.files}
    return leaves, json.loads(out.with_suffix(".json").read_text()), time.monotonic() - t0


def compare(a: dict, b: dict) -> list[str]:
    """The leaves that differ (by name, shape, dtype or any bit) between two runs."""
    import numpy as np

    if set(a) != set(b):
        return [f"leaves differ: {sorted(set(a) ^ set(b))}"]
    return [k for k in sorted(a) if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape
            or not np.array_equal(a[k], b[k], equal_nan=True)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--num-processes", type=int, default=2)
    parser.add_argument("--local-devices", type=int, default=4)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ckpt")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    report = run_both()
    print(json.dumps(report))
    return 1 if report["differ"] else 0


def run_both(timeout: float = TIMEOUT) -> dict:
    """The two-process and the one-process run side by side (their compiles overlap on 2 cores);
    a summary with ``differ``, the leaves not bit-identical (raises ``RunFailed`` if a run fails)."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        futures = {n: pool.submit(run, n, Path(tmp) / f"{n}proc", timeout) for n in (2, 1)}
        (two, notes2, t2), (one, notes1, t1) = futures[2].result(), futures[1].result()
    return {"leaves": sorted(two), "differ": compare(two, one),
            "seconds": {"two": round(t2, 1), "one": round(t1, 1), "all": round(time.monotonic() - t0, 1)},
            "two": notes2, "one": notes1}


if __name__ == "__main__":
    sys.exit(main())
