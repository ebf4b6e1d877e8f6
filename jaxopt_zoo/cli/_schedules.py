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

DEFAULT_SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup_cosine", "restarts", "onecycle", "cyclic")


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
    import math

    from ._plots import pyplot

    import jaxopt_zoo as zoo

    plt = pyplot()
    cols = min(4, len(specs))
    rows = math.ceil(len(specs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), layout="constrained", squeeze=False)
    for ax, s in zip(axes.flat, specs):
        title = s.label if s.label == s.member or ":" in s.label else f"{s.label} = {s.member}"
        zoo.plot_schedules({title: s.schedule}, args.steps, log_scale=args.log, ax=ax, title=title)
        ax.get_legend().remove()
        if not args.log:
            ax.set_ylim(bottom=0)
        ax.title.set_fontsize("medium")
    for ax in list(axes.flat)[len(specs):]:
        ax.set_visible(False)
    fig.suptitle(f"learning-rate schedules over {args.steps} steps (momentum companions dashed, right axis)")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "schedules.png")
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")
    for s in specs:
        args_text = ", ".join(f"{k}={v!r}" for k, v in s.kwargs.items())
        print(f"  {s.label}: {s.member}({args_text})")
    return 0
