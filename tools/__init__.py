"""Maintenance tools of the repository, run from its root with ``python -m tools.<name>``.

Not part of the installed package and outside the collected tests (pytest's testpaths is
``tests``); ``ruff check .`` lints them with the rest.
"""
