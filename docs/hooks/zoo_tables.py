"""mkdocs hook: the zoo tables and the API pages, generated at build time.

One source of truth: the tables come from ``jaxopt_zoo._registry`` (reference, paper, torch
tests) and the API pages list the members of each namespace (``jaxopt_zoo.optimizers`` ...),
so a member added to the registry or to a namespace appears in the docs without editing
them. A page asks for a table with ``<!-- zoo: optimizers -->`` and for an API listing with
``<!-- api: optimizers -->`` on a line of its own.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests" / "reference"
PLACEHOLDER = re.compile(r"^<!-- (zoo|api): ([\w.]+) -->$", re.M)


def _use_this_checkout() -> None:
    """Document this checkout's jaxopt_zoo, even if another copy is installed or was imported first."""
    if sys.path[0] != str(ROOT):
        sys.path.insert(0, str(ROOT))
    mod = sys.modules.get("jaxopt_zoo")
    if mod is not None and Path(mod.__file__).resolve().parent != ROOT / "jaxopt_zoo":
        for name in [n for n in sys.modules if n == "jaxopt_zoo" or n.startswith("jaxopt_zoo.")]:
            del sys.modules[name]


def _paper(text: str) -> str:
    """``"Authors, Title, year, https://..."`` as ``Authors, [Title](link), year``."""
    if text in ("", "-"):
        return "–"
    head, sep, url = text.rpartition(", ")
    if not sep or not url.startswith("http"):
        return text
    authors, _, rest = head.partition(", ")
    title, _, year = rest.rpartition(", ")
    return f"{authors}, [{title or rest}]({url}), {year}" if title else f"{authors}, [{rest}]({url})"


def _parity_tests(name: str, reference: str) -> str:
    """The parity suites in tests/reference/ that run ``zoo.<name>`` (or list its case): those
    whose file name holds the member's first, then those that name its reference, then by calls."""
    calls = re.compile(rf"\bzoo\.{re.escape(name)}\b|[\"']{re.escape(name)}[\"']")
    words = reference.replace("torch ", "torch.optim.lr_scheduler.").split()
    ref = re.compile(rf"\b{re.escape(words[0])}\b(?!\w)") if words else None
    ranked = []
    for path in sorted(PARITY.glob("*.py")):
        if path.name.startswith("make_") or path.name in ("harness.py", "conftest.py"):
            continue
        text = path.read_text()
        n = len(calls.findall(text))
        if n:
            named = bool(ref and ref.search(text))
            ranked.append((name.split("_")[0] not in path.stem, not named, not path.name.startswith("test_"), -n,
                           path.name))
    return "<br>".join(f"`tests/reference/{f}`" for *_, f in sorted(ranked)[:2]) or "–"


def _api_ref(qualname: str, label: str) -> str:
    return f"[`{label}`][{qualname}]"


def _zoo_table(which: str) -> str:
    from jaxopt_zoo import _registry as reg

    if which in ("optimizers", "wrappers", "schedules"):
        table = {"optimizers": reg.OPTIMIZERS, "wrappers": reg.WRAPPERS, "schedules": reg.SCHEDULES}[which]
        rows = ["| member | tested equal to | parity tests | paper |", "|---|---|---|---|"]
        for name, e in table.items():
            rows.append(f"| {_api_ref('jaxopt_zoo.' + name, name)} | {e.reference} | {_parity_tests(name, e.reference)} "
                        f"| {_paper(e.paper)} |")
        return "\n".join(rows)
    if which == "aliases":
        rows = ["| name (command line) | member | arguments | what |", "|---|---|---|---|"]
        for a in reg.ALIASES.values():
            args = ", ".join(f"`{k}={v!r}`" for k, v in a.kwargs.items()) or "–"
            rows.append(f"| `{a.name}` | {_api_ref('jaxopt_zoo.' + a.target, a.target)} | {args} | {a.note} |")
        return "\n".join(rows)
    torch_tables = {"torch_optimizers": reg.TORCH_OPTIMIZERS, "torch_schedulers": reg.TORCH_SCHEDULERS,
                    "torch_transforms": reg.TORCH_TRANSFORMS, "torch_hf_schedules": reg.TORCH_HF_SCHEDULES,
                    "torch_swa": reg.TORCH_SWA}
    if which in torch_tables:
        table = torch_tables[which]
        rows = ["| member | tested equal to | parity tests |", "|---|---|---|"]
        for e in table.values():
            tests = "<br>".join(f"`{t}`" for t in e.tests)
            rows.append(f"| {_api_ref('jaxopt_zoo.' + e.name, e.name)} | `{e.reference}` | {tests} |")
        return "\n".join(rows)
    raise ValueError(f"docs: unknown zoo table {which!r}")


def _members(module) -> list:
    """Public members of a namespace in the order its ``__init__`` imports them (modules aside)."""
    return [(n, obj) for n, obj in vars(module).items()
            if not n.startswith("_") and type(obj).__name__ != "module"]


def _api(area: str) -> str:
    import jaxopt_zoo

    if area == "core":  # everything jaxopt_zoo exports that lives in none of the namespaces
        spaces = ("jaxopt_zoo.transforms.", "jaxopt_zoo.optimizers.", "jaxopt_zoo.schedules.")
        members = [(n, o) for n, o in _members(jaxopt_zoo)
                   if not str(getattr(o, "__module__", "")).startswith(spaces) and n != "torch_compat"]
        prefix = "jaxopt_zoo."
    else:
        module = importlib.import_module(f"jaxopt_zoo.{area}")
        members = _members(module)
        prefix = "jaxopt_zoo." if area in ("transforms", "optimizers", "schedules") else f"jaxopt_zoo.{area}."
    by_module: dict[str, list[str]] = {}
    for name, obj in members:
        by_module.setdefault(str(getattr(obj, "__module__", None) or "jaxopt_zoo"), []).append(name)
    out = []
    for mod_name, names in by_module.items():
        try:
            doc = (importlib.import_module(mod_name).__doc__ or "").strip().splitlines()[0]
        except (ImportError, IndexError):
            doc = ""
        path = mod_name.replace(".", "/") + ".py"
        out.append(f"## {doc or mod_name}\n\n<small>`{path}`</small>\n")
        out.extend(f"::: {prefix}{n}\n" for n in names)
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    _use_this_checkout()
    def expand(m: re.Match) -> str:
        return _zoo_table(m.group(2)) if m.group(1) == "zoo" else _api(m.group(2))

    return PLACEHOLDER.sub(expand, markdown)
