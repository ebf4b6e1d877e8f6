"""``jaxopt-zoo landscape``: optimizer paths on 2-D test functions, drawn over their contours.

The functions: the ravine x² + 10y² of the source notes (plain SGD zig-zags across it), the
Rosenbrock valley, the saddle x² − y² (SGD struggles to leave the top) and Beale's function.
Each picture shows the paths over the contours and f − f* against the step (log scale).

Learning rates: a spec that writes its own learning_rate keeps it on every function;
otherwise SGD-type members (sgd and its aliases, schedule_free_sgd), whose steps scale with
the gradient, get the function's ``sgd lr`` and the others, whose steps are roughly
``lr`` in parameter units, get its ``adaptive lr`` (listed in --help, shown in the legend).
On the ravine plain SGD runs at 0.09, near the source notes' 0.1 where it zig-zags forever;
Nesterov momentum would diverge there.
"""

from __future__ import annotations

import argparse
import os
from typing import Callable, NamedTuple

from . import _console, _specs


class TestFunction(NamedTuple):
    name: str
    title: str
    formula: str
    f: Callable  # (x, y) -> value; arithmetic only, so it runs on numpy and jax arrays alike
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    minimum_value: float
    steps: int
    sgd_lr: float
    adaptive_lr: float
    log_contours: bool = True
    bounded_below: bool = True
    equal_aspect: bool = False  # draw x and y to the same scale (the ravine's elongation is the point)
    plain_sgd_lr: float | None = None  # plain sgd's own rate, where the story needs it (the ravine)

    def numpy(self, x, y):
        return self.f(x, y)


FUNCTIONS = {
    f.name: f for f in (
        TestFunction("ravine", "ravine", "x² + 10y²", lambda x, y: x**2 + 10 * y**2, (10.0, 1.0), (-11.0, 11.0),
                     (-4.0, 4.0), ((0.0, 0.0),), 0.0, steps=80, sgd_lr=0.06, adaptive_lr=0.5, equal_aspect=True,
                     plain_sgd_lr=0.09),
        TestFunction("rosenbrock", "Rosenbrock", "(1 − x)² + 100(y − x²)²",
                     lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, (-1.5, 2.5), (-2.0, 2.0), (-1.0, 3.5),
                     ((1.0, 1.0),), 0.0, steps=1000, sgd_lr=5e-4, adaptive_lr=0.05),
        TestFunction("saddle", "saddle", "x² − y²", lambda x, y: x**2 - y**2, (1.5, 1e-3), (-2.0, 2.0), (-2.0, 2.0),
                     (), 0.0, steps=60, sgd_lr=0.05, adaptive_lr=0.05, log_contours=False, bounded_below=False),
        TestFunction("beale", "Beale", "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
                     lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
                     (1.0, 1.5), (-0.5, 4.0), (-1.5, 2.0), ((3.0, 0.5),), 0.0, steps=300, sgd_lr=1e-3,
                     adaptive_lr=0.05),
    )
}
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
SGD_TYPE = ("sgd", "schedule_free_sgd")


def add_arguments(p: argparse.ArgumentParser) -> None:
    table = "; ".join(f"{f.name} = {f.formula} from {f.start}, {f.steps} steps, sgd lr {f.sgd_lr}"
                      + (f" (plain sgd {f.plain_sgd_lr})" if f.plain_sgd_lr else "")
                      + f", adaptive lr {f.adaptive_lr}" for f in FUNCTIONS.values())
    p.add_argument("--functions", "-f", nargs="+", default=list(FUNCTIONS), choices=list(FUNCTIONS), metavar="NAME",
                   help=f"test functions (default: all): {table}")
    p.add_argument("--optimizers", "-o", nargs="+", action="extend", metavar="SPEC", default=None,
                   help=f"optimizer specs (default: {' '.join(DEFAULT_OPTIMIZERS)})")
    p.add_argument("--steps", type=int, default=None, help="steps on every function (default: the function's own)")
    p.add_argument("--out", default="zoo-out", help="folder for the pictures (default: zoo-out)")


def _learning_rate(spec: _specs.OptimizerSpec, fn: TestFunction) -> _specs.OptimizerSpec:
    base = spec.inner if spec.inner is not None else spec
    if base.member == "sgd" and base.kwargs.get("momentum") is None and fn.plain_sgd_lr is not None:
        return spec.with_learning_rate(fn.plain_sgd_lr)
    return spec.with_learning_rate(fn.sgd_lr if base.member in SGD_TYPE else fn.adaptive_lr)


def trajectory(tx, fn: TestFunction, steps: int):
    """The ``steps + 1`` points visited from ``fn.start`` (one compiled ``lax.scan``), as numpy."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxopt_zoo as zoo

    def f(q):
        return fn.f(q[0], q[1])

    def run(p0):
        def step(carry, _):
            p, s = carry
            value, g = jax.value_and_grad(f)(p)
            # what the step has, for members that need it (_registry.UPDATE_EXTRAS: polyak_sgd, lbfgs)
            u, s = tx.update(g, s, p, value=value, grad=g, value_fn=f)
            p = zoo.apply_updates(p, u)
            return (p, s), p

        _, ps = jax.lax.scan(step, (p0, tx.init(p0)), None, length=steps)
        return jnp.concatenate([p0[None], ps])

    return np.asarray(jax.jit(run)(jnp.asarray(fn.start, jnp.float32)), dtype=np.float64)


def _clip(path, fn: TestFunction):
    """The path up to its first non-finite point or its first point far outside the window."""
    import numpy as np

    (x0, x1), (y0, y1) = fn.xlim, fn.ylim
    wx, wy = x1 - x0, y1 - y0
    ok = (np.isfinite(path).all(1) & (path[:, 0] > x0 - wx) & (path[:, 0] < x1 + wx)
          & (path[:, 1] > y0 - wy) & (path[:, 1] < y1 + wy))
    bad = np.flatnonzero(~ok)
    return path if bad.size == 0 else path[: bad[0]]


def run(args: argparse.Namespace) -> int:
    from . import _plots

    if args.steps is not None and args.steps < 1:
        raise _specs.SpecError("--steps must be >= 1.")
    specs = [_specs.parse_optimizer(s) for s in (args.optimizers or DEFAULT_OPTIMIZERS)]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in dict.fromkeys(args.functions):
        fn = FUNCTIONS[name]
        steps = args.steps or fn.steps
        paths, values = {}, {}
        for spec in specs:
            tuned = _learning_rate(spec, fn)
            label = f"{spec.label} (lr {tuned.learning_rate:g})"
            path = _clip(trajectory(tuned.build(), fn, steps), fn)
            paths[label] = path
            values[label] = fn.f(path[:, 0], path[:, 1]) - fn.minimum_value
            end = path[-1]
            rows.append([fn.name, label, f"({end[0] + 0:.3g}, {end[1] + 0:.3g})",
                         f"{values[label][-1]:.3g}" if len(path) == steps + 1 else f"left the plotted area at step {len(path)}"])
        path_file = os.path.join(args.out, f"landscape-{fn.name}.png")
        _plots.landscape_figure(fn, paths, values).savefig(path_file, dpi=100)
        print(f"wrote {path_file}")
    _console.print_table("jaxopt-zoo landscape: where each optimizer ends", ["function", "optimizer", "last point",
                                                                              "f - f* at the end"], rows)
    return 0
