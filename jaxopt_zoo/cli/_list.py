"""``jaxopt-zoo list``: the zoo, each member with the reference it is tested equal to and its paper.

``jaxopt-zoo list`` prints every table; ``list optimizers|wrappers|aliases|schedules|torch_compat``
one of them; ``list NAME`` one member in full: its signature, what a bare spec runs, reference,
paper (``list torch_compat.SGD``, ``list torch_compat.lr_scheduler.StepLR`` for torch_compat).
"""

from __future__ import annotations

import argparse
import inspect

from .. import _registry
from . import _console, _specs

SECTIONS = ("optimizers", "wrappers", "aliases", "schedules", "torch_compat")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", default="all", metavar="WHAT",
                   help=f"all (default), one of {', '.join(SECTIONS)}, or a member's name")


def _paper(text: str) -> str:
    return "" if text == "-" else text


def _optimizers() -> None:
    rows = [[name, str(_specs.example_learning_rate(name)), e.reference, _paper(e.paper)]
            for name, e in _registry.OPTIMIZERS.items()]
    _console.print_table("optimizers", ["name", "spec lr", "tested equal to", "paper"], rows,
                         caption="spec lr: the learning rate a bare name runs with in shootout and landscape.")


def _wrappers() -> None:
    rows = [[name, f"{name}:optimizer=adam", e.reference, _paper(e.paper)] for name, e in _registry.WRAPPERS.items()]
    _console.print_table("wrappers (take another optimizer)", ["name", "spec", "tested equal to", "paper"], rows)


def _aliases() -> None:
    rows = [[a.name, a.target, ", ".join(f"{k}={v!r}" for k, v in a.kwargs.items()) or "-", a.note]
            for a in _registry.ALIASES.values()]
    _console.print_table("aliases", ["alias", "member", "arguments", "what"], rows)


def _schedules() -> None:
    short = {}
    for s, full in _specs.SCHEDULE_SHORT_NAMES.items():
        short.setdefault(full, []).append(s)
    rows = [[name, ", ".join(short.get(name, [])), e.reference, _paper(e.paper)] for name, e in _registry.SCHEDULES.items()]
    _console.print_table("schedules", ["name", "short names", "tested equal to", "paper"], rows)


def _torch_compat() -> None:
    tables = (("torch_compat (torch.optim look-alikes: torch's names and keywords)", _registry.TORCH_OPTIMIZERS, ""),
              ("torch_compat.lr_scheduler (schedules t -> lr)", _registry.TORCH_SCHEDULERS, "torch.optim.lr_scheduler."),
              ("torch_compat gradient clipping (transformations, in a chain before the optimizer)",
               _registry.TORCH_TRANSFORMS, "torch.nn.utils."),
              ("torch_compat.transformers (Hugging Face schedules t -> lr, the base lr first)",
               _registry.TORCH_HF_SCHEDULES, "transformers."),
              ("torch_compat.swa_utils (SWALR; AveragedModel last in a chain: SWA / EMA weights)",
               _registry.TORCH_SWA, "torch.optim.swa_utils."))
    for title, table, common in tables:  # the common prefix goes to the header: names stay on one line
        rows = [[name, e.reference.removeprefix(common), "\n".join(t.removeprefix("tests/reference/") for t in e.tests)]
                for name, e in table.items()]
        header = f"tested equal to {common}" if common else "tested equal to"
        _console.print_table(title, ["name", header, "parity tests (tests/reference/)"], rows)


def _torch_member(name: str) -> int | None:
    """``list torch_compat.X`` / ``list torch_compat.lr_scheduler.X``: the member in full, or None."""
    for entry in (*_registry.TORCH_OPTIMIZERS.values(), *_registry.TORCH_SCHEDULERS.values(),
                  *_registry.TORCH_TRANSFORMS.values(), *_registry.TORCH_HF_SCHEDULES.values(),
                  *_registry.TORCH_SWA.values()):
        if name.strip() in (entry.name, "jaxopt_zoo." + entry.name):
            factory = _registry.torch_factory(entry)
            doc = (inspect.getdoc(factory) or "").splitlines()
            print(f"jaxopt_zoo.{entry.name}{inspect.signature(factory)}")
            print(f"  {doc[0] if doc else ''}")
            print(f"  tested equal to: {entry.reference}")
            print(f"  parity tests:    {', '.join(entry.tests)}")
            return 0
    return None


def _member(name: str) -> int:
    shown = _torch_member(name)
    if shown is not None:
        return shown
    key = _specs.normalize(name)
    key = _specs.SCHEDULE_SHORT_NAMES.get(key, key)
    if key in _registry.ALIASES:
        alias = _registry.ALIASES[key]
        print(f"{key}: alias of {alias.target}({', '.join(f'{k}={v!r}' for k, v in alias.kwargs.items())}) - {alias.note}\n")
        key = alias.target
    for table, kind in ((_registry.OPTIMIZERS, "optimizer"), (_registry.WRAPPERS, "wrapper"),
                        (_registry.SCHEDULES, "schedule")):
        if key in table:
            entry = table[key]
            factory = _registry.factory(key)
            doc = (inspect.getdoc(factory) or "").splitlines()
            print(f"jaxopt_zoo.{key}{inspect.signature(factory)}")
            print(f"  {doc[0] if doc else ''}")
            print(f"  kind:            {kind}")
            if kind == "optimizer":
                print(f"  bare spec runs:  {key}(learning_rate={_specs.example_learning_rate(key)!r}, other defaults)")
            print(f"  tested equal to: {entry.reference}")
            print(f"  paper:           {_paper(entry.paper) or '-'}")
            return 0
    names = sorted(set(_specs.optimizer_names()) | set(_specs.schedule_names()) | set(SECTIONS) | {"all"})
    raise _specs.SpecError(f"nothing called {name!r} in the zoo.{_specs.close_matches(key, names)} "
                           f"Try `jaxopt-zoo list` for everything.")


def run(args: argparse.Namespace) -> int:
    what = _specs.normalize(args.what)
    shows = {"optimizers": _optimizers, "wrappers": _wrappers, "aliases": _aliases, "schedules": _schedules,
             "torch_compat": _torch_compat}
    if what == "all":
        for show in shows.values():
            show()
        return 0
    if what in shows:
        shows[what]()
        return 0
    return _member(args.what)
