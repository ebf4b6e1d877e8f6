"""Terminal output: rich progress bars and tables, plain lines when stdout is not a terminal."""

from __future__ import annotations

import sys
from typing import Sequence


def console():
    """A rich console on the current ``sys.stdout`` (wide enough for tables when not a terminal)."""
    from rich.console import Console

    out = sys.stdout
    is_tty = hasattr(out, "isatty") and out.isatty()
    return Console(file=out, width=None if is_tty else 120, highlight=False, soft_wrap=False)


class _PlainTask:
    def __init__(self, label: str, total: int):
        self.label, self.total = label, total

    def update(self, completed: int, loss: float) -> None:
        del completed, loss

    def note(self, text: str) -> None:
        del text

    def finish(self, summary: str) -> None:
        print(f"{self.label}: {summary}", flush=True)


class _RichTask:
    def __init__(self, progress, label: str, total: int):
        self.progress = progress
        self.id = progress.add_task(label, total=total, loss="")

    def update(self, completed: int, loss: float) -> None:
        self.progress.update(self.id, completed=completed, loss=f"loss {loss:.4g}")

    def note(self, text: str) -> None:
        self.progress.update(self.id, loss=text)

    def finish(self, summary: str) -> None:
        self.progress.update(self.id, completed=self.progress.tasks[self.id].total, loss=summary)


class Progress:
    """``with Progress() as p: task = p.task(label, total); task.update(done, loss); task.finish(text)``.

    ``task.note(text)`` shows a status (e.g. "compiling") in place of the loss.

    On a terminal each run gets a live rich bar; otherwise (pipes, tests, CI) one line is
    printed per finished run.
    """

    def __init__(self):
        self._rich = None

    def __enter__(self) -> Progress:
        out = sys.stdout
        if hasattr(out, "isatty") and out.isatty():
            from rich import progress as rp

            self._rich = rp.Progress(
                rp.TextColumn("{task.description:<28}"), rp.BarColumn(bar_width=30), rp.MofNCompleteColumn(),
                rp.TextColumn("steps"), rp.TimeElapsedColumn(), rp.TextColumn("{task.fields[loss]}"),
                console=console())
            self._rich.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)

    def log(self, text: str) -> None:
        """A status line (above the bars on a terminal)."""
        if self._rich is not None:
            self._rich.console.print(text, markup=False)
        else:
            print(text, flush=True)

    def task(self, label: str, total: int):
        return _RichTask(self._rich, label, total) if self._rich is not None else _PlainTask(label, total)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *, caption: str | None = None,
                justify: Sequence[str] | None = None) -> None:
    """Print a table with rich (box-drawn on any stream)."""
    from rich.table import Table

    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify=(justify[i] if justify else "left"), overflow="fold", no_wrap=(i == 0))
    for row in rows:
        table.add_row(*row)
    console().print(table)


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The same table in GitHub Markdown."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
