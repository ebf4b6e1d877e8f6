"""The ``jaxopt-zoo`` parser and dispatch.

Nothing here imports jax at module level: ``--devices N`` must set ``XLA_FLAGS`` (N simulated
CPU devices) before jax starts its backend, which happens at the first computation.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

SPEC_HELP = textwrap.dedent("""\
    specs:
      An optimizer or schedule is written NAME or NAME:KEY=VALUE,KEY=VALUE (quote it in the shell
      when it holds spaces, parentheses or quotes). Values are Python literals: numbers,
      True/False/None, 'strings', tuples, lists, dicts; a bare word is a string; nothing is
      evaluated. lr and wd are short for learning_rate and weight_decay. Names ignore case and
      treat '-', '_' and ' ' alike. An unknown name or argument is an error that lists the close
      matches.
        adam                          catalogue factory, defaults + its example learning rate
        adamw:learning_rate=3e-3,weight_decay=0.01
        momentum   nesterov           aliases: sgd with momentum 0.9 (Nesterov)
        'schedule-free adamw'         = schedule_free_adamw = sf_adamw
        lookahead:optimizer=adam      a wrapper takes its inner optimizer by name
        "sam:optimizer='sgd:lr=0.1',rho=0.05"   ... or as a quoted spec
        cosine  warmup_cosine  onecycle  step  cyclic  restarts  constant   short schedule names
        warmup_cosine_decay_schedule:peak_value=1e-2,warmup_steps=50
      `jaxopt-zoo list` shows every name with its reference and paper.
    """)


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30, width=100)


def build_parser() -> argparse.ArgumentParser:
    from . import _landscape, _list, _schedules, _shootout

    parser = argparse.ArgumentParser(
        prog="jaxopt-zoo", formatter_class=_formatter,
        description="Which optimizer and schedule for my problem, and what do they do? Train, compare and "
                    "draw the members of jaxopt_zoo.",
        epilog=SPEC_HELP + "\nexamples:\n"
               "  jaxopt-zoo shootout                                 # 11 optimizers on digits, 3 seeds\n"
               "  jaxopt-zoo shootout -o adam 'adamw:wd=0.1' lion --schedule warmup_cosine --dataset breast_cancer\n"
               "  jaxopt-zoo landscape --functions ravine saddle -o sgd momentum adam\n"
               "  jaxopt-zoo schedules -s onecycle cosine 'step:gamma=0.5' --steps 2000\n"
               "  jaxopt-zoo list adamw\n")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, module, help_, description):
        description = description.replace("``", "").replace("*", "")  # the docstring, minus its markup
        p = sub.add_parser(name, help=help_, description=description, epilog=SPEC_HELP, formatter_class=_formatter)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
        return p

    add("shootout", _shootout, "train a Flax MLP with many optimizers; table, curves, CSV and JSON",
        _shootout.__doc__.splitlines()[0] + "\n\n" + "\n".join(_shootout.__doc__.splitlines()[2:]))
    add("landscape", _landscape, "optimizer paths over 2-D test functions, drawn on contour plots",
        _landscape.__doc__)
    add("schedules", _schedules, "plot learning-rate schedules", _schedules.__doc__)
    add("list", _list, "the zoo: every optimizer, wrapper, alias and schedule with its reference and paper, "
        "and torch_compat's optimizers and schedulers with their torch class and parity tests",
        _list.__doc__)
    demo = sub.add_parser("demo", help="what `make demo` runs: the default landscapes, then the default shootout",
                          description="The default landscape pictures, then the default shootout.",
                          formatter_class=_formatter)
    demo.add_argument("--out", default="zoo-out", help="output folder (default: zoo-out)")
    demo.set_defaults(run=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    """The landscapes, then the shootout (so that its table is what stays on the screen)."""
    parser = build_parser()
    code = main_args(parser.parse_args(["landscape", "--out", args.out]))
    return code or main_args(parser.parse_args(["shootout", "--out", args.out]))


def _simulate_devices(n: int) -> None:
    """Ask XLA for ``n`` CPU devices; effective only before jax's backend starts."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


def main_args(args: argparse.Namespace) -> int:
    """Run parsed arguments; a bad spec or option prints one clean line and returns 2."""
    from ._specs import SpecError

    if getattr(args, "devices", 1) > 1:
        _simulate_devices(args.devices)
    try:
        return args.run(args)
    except SpecError as e:
        print(f"jaxopt-zoo {args.command}: error: {e}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """The ``jaxopt-zoo`` entry point (``python -m jaxopt_zoo`` too); returns the exit code."""
    try:
        parser = build_parser()
    except ImportError as e:  # pragma: no cover - only without the demo extra
        print(f"jaxopt-zoo needs the demo extra (pip install 'jaxopt_zoo[demo]'): {e}", file=sys.stderr)
        return 2
    return main_args(parser.parse_args(argv))
