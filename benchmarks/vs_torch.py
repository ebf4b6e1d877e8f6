"""W8: SOAP and Shampoo against pytorch_optimizer's, step time and optimizer-state memory.

Both sides run float32 on the CPU on the same tree (``workloads.preconditioner_tree``: a few
256x256 and 512x128 matrices and some vectors) with the same hyperparameters, the
preconditioning period included. The zoo's step is jitted with params and state donated
(``timing.Runner``); pytorch_optimizer's is ``opt.step()`` with the gradients set once on the
params (neither SOAP nor Shampoo with these hyperparameters changes ``p.grad``), under
``torch.no_grad()`` as it runs in training. The two are timed in turn, in one process, and
each timed block is a whole number of preconditioning periods, so the expensive refresh
steps (eigh/QR for SOAP, one SVD per axis for Shampoo) are averaged in the same way on both
sides. The ratio zoo/torch is the figure to read: both share the machine's load alike.

The memory column is the optimizer state's bytes over the params' bytes (no gradients), on
each side: the zoo's state leaves (step counters included), the tensors in torch's
``opt.state``.

Torch is a benchmark-only dependency (the parity extras install it); without it the rows are
skipped with a message saying so.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np

from . import timing, workloads

# (label, zoo factory, pytorch_optimizer class name, its keyword arguments, period): the zoo
# factory and the torch keywords spell the same hyperparameters (each library's defaults
# are the other's, see the parity suites tests/reference/test_soap.py and test_shampoo.py).
CASES = [
    ("SOAP, defaults (precondition_frequency 10)", lambda zoo: zoo.soap(3e-3, precondition_frequency=10),
     "SOAP", dict(lr=3e-3, precondition_frequency=10), 10),
    ("Shampoo, defaults (preconditioning_compute_steps 1)", lambda zoo: zoo.shampoo(1e-3, preconditioning_compute_steps=1),
     "Shampoo", dict(lr=1e-3, preconditioning_compute_steps=1), 1),
    ("Shampoo, preconditioning_compute_steps 10", lambda zoo: zoo.shampoo(1e-3, preconditioning_compute_steps=10),
     "Shampoo", dict(lr=1e-3, preconditioning_compute_steps=10), 10),
]


def torch_or_reason() -> tuple[Any, Any, str | None]:
    """``(torch, pytorch_optimizer, None)``, or ``(None, None, why)`` when either is missing."""
    try:
        import pytorch_optimizer
        import torch
    except ImportError as e:  # a bench-only dependency
        return None, None, (f"W8 skipped: torch / pytorch_optimizer not importable ({e}); "
                            "install the parity extras to compare SOAP and Shampoo with them")
    return torch, pytorch_optimizer, None


def tree_bytes(tree: Any) -> int:
    """Bytes of every array in a jax tree, or of every tensor in a (nested) torch state."""
    if hasattr(tree, "element_size") and hasattr(tree, "numel"):  # a torch tensor
        return int(tree.element_size() * tree.numel())
    if isinstance(tree, dict):
        return sum(tree_bytes(v) for v in tree.values())
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        return sum(tree_bytes(v) for v in tree)
    return int(sum(np.dtype(x.dtype).itemsize * np.size(x) for x in jax.tree.leaves(tree) if hasattr(x, "dtype")))


class TorchRunner:
    """pytorch_optimizer's ``step()`` on float32 CPU tensors with fixed gradients."""

    def __init__(self, torch, opt_cls, kwargs: dict, params: dict, grads: dict):
        self.torch = torch
        self.params = [torch.tensor(np.asarray(params[k]), dtype=torch.float32) for k in params]
        for p, k in zip(self.params, params):
            p.grad = torch.tensor(np.asarray(grads[k]), dtype=torch.float32)
        self.opt = opt_cls(self.params, **kwargs)
        self.step()  # warm up: the state is created on the first step

    def step(self):
        with self.torch.no_grad():
            self.opt.step()

    def state_bytes(self) -> int:
        return sum(tree_bytes(dict(s)) for s in self.opt.state.values())

    def run(self, k: int) -> float:
        t0 = time.perf_counter()
        for _ in range(k):
            self.step()
        return (time.perf_counter() - t0) / k


def rows(sizes, log=print) -> tuple[list, str | None]:
    """Time every case of ``CASES`` on the W8 tree; ``([], why)`` without torch."""
    torch, po, why = torch_or_reason()
    if why:
        log(why)
        return [], why
    import jaxopt_zoo as zoo

    from .run import _step

    params = workloads.preconditioner_tree(sizes.w8_tree)
    grads = workloads.grads_like(params)
    n = workloads.n_params(params)
    param_bytes = tree_bytes(params)
    out = []
    for label, make, cls_name, kwargs, period in CASES:
        tx = make(zoo)
        p = timing.copy_tree(params)
        s = tx.init(p)
        compiled, compile_s = timing.compile_step(_step(tx, zoo), p, s, grads)
        runners = {"zoo": timing.Runner(compiled, p, s, grads),
                   "torch": TorchRunner(torch, getattr(po, cls_name), kwargs, params, grads)}
        zoo_state = tree_bytes(runners["zoo"].state)
        torch_state = runners["torch"].state_bytes()
        # Whole periods per timed block, about 0.2 s of steps (at least one period).
        per_step = max(max(r.run(period) for r in runners.values()), 1e-6)
        inner = period * max(1, int(0.2 / (per_step * period)))
        med = timing.alternate(runners, sizes.reps, inner)
        row = {
            "workload": "W8",
            "case": label,
            "optimizer": cls_name,
            "leaves": len(params),
            "params": n,
            "period": period,
            "steps_per_block": inner,
            "zoo_ms": med["zoo"] * 1e3,
            "torch_ms": med["torch"] * 1e3,
            "zoo_over_torch": med["zoo"] / med["torch"],
            "zoo_compile_s": compile_s,
            "param_bytes": param_bytes,
            "zoo_state_bytes": zoo_state,
            "torch_state_bytes": torch_state,
            "zoo_state_over_params": zoo_state / param_bytes,
            "torch_state_over_params": torch_state / param_bytes,
            "torch_threads": torch.get_num_threads(),
        }
        log(f"  W8 {label}: zoo {row['zoo_ms']:.2f} ms, torch {row['torch_ms']:.2f} ms, "
            f"ratio {row['zoo_over_torch']:.2f}; state/params zoo {row['zoo_state_over_params']:.2f}, "
            f"torch {row['torch_state_over_params']:.2f}")
        out.append(row)
        del runners
    return out, None


def markdown(res: dict) -> list:
    """The W8 table (or the reason it was skipped) as markdown lines."""
    if res.get("torch_skipped"):
        return [res["torch_skipped"], ""]
    if not res.get("torch"):
        return []
    lines = [
        "| | vs pytorch_optimizer (float32, CPU) | params | zoo ms | torch ms | zoo/torch | state/params zoo "
        "| state/params torch | compile zoo s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["torch"]:
        lines.append(
            f"| W8 | {r['case']}, {r['leaves']} leaves | {r['params']:,} | {r['zoo_ms']:.2f} | {r['torch_ms']:.2f} | "
            f"{r['zoo_over_torch']:.2f} | {r['zoo_state_over_params']:.2f} | {r['torch_state_over_params']:.2f} | "
            f"{r['zoo_compile_s']:.2f} |"
        )
    return lines + [""]
