"""One compiled program for a registry walker: every member's run traced into one ``jax.jit``.

Almost all of a walker's time is XLA compiling one small program per member; one program that
holds every member's run compiles in markedly less CPU time than the members' programs one by one
(tests/test_convergence.py and tests/reference/test_faults.py use it). A member that fails while its
run is traced (a bad build, a shape error) does not stop the others: its exception is kept and
raised by that member's own test, so a failure still names the member.
"""

from collections.abc import Callable, Iterable
from typing import Any

import jax
import pytest


# Members per program: XLA's compile time grows faster than the program past ~16 members' runs
# (59 digits-MLP runs in one program compiled slower than one by one); 8 per program was the
# fastest (measured in CPU time on the convergence problems).
CHUNK = 8

# LLVM's optimization level 0 for the CPU backend: compiles the walkers' programs 3-6x faster (kron's
# digits run: 3.8 s -> 0.6 s). For tests whose assertion is not a comparison with another
# program's rounding (convergence thresholds; runs of one executable compared bit for bit);
# never for parity (tests/conftest.py: at -O0 a few chaotic trajectories round differently from
# their references).
LLVM_O0 = {"xla_backend_optimization_level": 0}


def run_each(names: Iterable[str], fn: Callable[..., Any], *args, chunk: int = CHUNK,
             compiler_options: dict | None = None) -> dict[str, Any]:
    """``{name: fn(name, *args)}`` computed in jit-compiled programs of ``chunk`` members each.

    ``fn`` is traced once per name inside the program; a name whose trace raises maps to the
    exception instead (``result`` raises it again). ``compiler_options``: XLA options for the
    programs' compile (e.g. ``LLVM_O0``).
    """
    return run_each_on(names, fn, [args], chunk=chunk, compiler_options=compiler_options)[0]


def run_each_on(names: Iterable[str], fn: Callable[..., Any], argsets: list[tuple], *, chunk: int = CHUNK,
                compiler_options: dict | None = None) -> list[dict[str, Any]]:
    """As ``run_each``, one result dict per argument tuple of ``argsets`` (equal shapes): each
    program is compiled once and run on every tuple, so the runs of a member share one executable."""
    out = [{} for _ in argsets]
    for some in chunks(names, chunk):
        for o, got in zip(out, _run_chunk(some, fn, argsets, compiler_options)):
            o.update(got)
    return out


def chunks(names: Iterable[str], chunk: int = CHUNK) -> list[list[str]]:
    """``names`` cut into consecutive lists of ``chunk`` (the last may be shorter): the members
    of one compiled program each, for walkers that build their programs themselves."""
    names = list(names)
    return [names[i:i + chunk] for i in range(0, len(names), chunk)]


def _run_chunk(names, fn, argsets, compiler_options):
    errors = {}

    def program(*args):
        out = {}
        for name in names:
            try:
                out[name] = fn(name, *args)
            except Exception as e:  # noqa: BLE001 - kept for the member's own test
                errors[name] = e
        return out

    run = jax.jit(program, compiler_options=compiler_options)
    return [{**run(*args), **errors} for args in argsets]


def result(results: dict[str, Any], name: str) -> Any:
    """The member's value from ``run_each``, or its tracing error raised again."""
    value = results[name]
    if isinstance(value, Exception):
        raise value
    return value


def collected_params(request: pytest.FixtureRequest, function: str, argname: str = "name") -> list:
    """The values of ``argname`` of the collected tests named ``function`` in the requesting module
    (what ``-k`` left selected), so a module-scoped batch compiles only the members that run."""
    module = request.module.__name__
    return sorted({item.callspec.params[argname] for item in request.session.items
                   if getattr(item, "originalname", None) == function and item.module.__name__ == module
                   and hasattr(item, "callspec") and argname in item.callspec.params})
