"""The repository's root conftest: it loads the conformance plugin (tests/conformance/zoo_conformance.py,
docs/conformance.md) for every pytest run, the test suite's and the doctests' alike. ``tests`` is a
package, importable from here without any ``pythonpath`` setting."""

pytest_plugins = ["tests.conformance.zoo_conformance"]
