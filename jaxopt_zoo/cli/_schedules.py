"""``jaxopt-zoo schedules``: plot learning-rate schedules over a run.

Arguments a spec does not give take run-relative defaults that peak at 1 (the shootout uses
a schedule's shape only), e.g. ``cosine`` = ``cosine_decay_schedule(1.0, decay_steps=STEPS)``;
give values to see absolute learning rates (``onecycle:max_value=0.1``). One-cycle and cyclic
schedules also draw the momentum they pair with (dashed, right axis).
"""

from __future__ import annotations

import argparse
import os

from . import _specs

DEFAULT_SCHEDULES = ("constant", "cosine", "warmup_cosine", "onecycle", "step", "cyclic", "restarts")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schedules", "-s", nargs="+", action="extend", metavar="SPEC", default=None,
                   help=f"schedule specs (default: {' '.join(DEFAULT_SCHEDULES)})")
    p.add_argument("--steps", type=int, default=1000, help="length of the run (default: 1000)")
    p.add_argument("--log", action="store_true", help="logarithmic learning-rate axis")
    p.add_argument("--out", default="zoo-out", help="folder for schedules.png (default: zoo-out)")


def run(args: argparse.Namespace) -> int:
    if args.steps < 2:
        raise _specs.SpecError("--steps must be >= 2.")
    specs = [_specs.parse_schedule(s, args.steps) for s in (args.schedules or DEFAULT_SCHEDULES)]
    from ._plots import pyplot

    import jaxopt_zoo as zoo

    pyplot()
    labels = {}
    for s in specs:
        label = s.label if s.label == s.member or ":" in s.label else f"{s.label} = {s.member}"
        labels[label] = s.schedule
    fig = zoo.plot_schedules(labels, args.steps, log_scale=args.log,
                             title=f"learning-rate schedules over {args.steps} steps")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "schedules.png")
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")
    for s in specs:
        args_text = ", ".join(f"{k}={v!r}" for k, v in s.kwargs.items())
        print(f"  {s.label}: {s.member}({args_text})")
    return 0
