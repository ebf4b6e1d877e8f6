"""The docs' griffe extension (docs/hooks/griffe_examples.py): the docstrings' reST habits
become Markdown/HTML, so the API pages show no raw ``:math:`` roles or ``.. math::`` blocks."""

import importlib.util
import pathlib

import jaxopt_zoo

HOOK = pathlib.Path(__file__).resolve().parents[1] / "docs" / "hooks" / "griffe_examples.py"


def _hook():
    spec = importlib.util.spec_from_file_location("griffe_examples", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_math_roles_blocks_and_links_are_converted():
    hook = _hook()
    text = "Step :math:`\\beta_1 m` here.\n\n    .. math::\n\n       s(t) = v_0\n\n    after\nsee `Adam <https://arxiv.org/abs/1412.6980>`_."
    out = hook.rest_to_markdown(text)
    assert ":math:" not in out and ".. math::" not in out and "    after" in out
    assert "[Adam](https://arxiv.org/abs/1412.6980)" in out
    assert out.count("<math") == 2 or out.count("<code>") == 2  # MathML, or code without latex2mathml


def test_no_docstring_keeps_raw_math_after_conversion():
    """Every docstring of the package converts: no role or block survives."""
    hook = _hook()
    seen = 0
    for path in pathlib.Path(jaxopt_zoo.__file__).parent.rglob("*.py"):
        source = path.read_text()
        if ":math:" in source or ".. math::" in source:
            seen += 1
            out = hook.rest_to_markdown(source)
            assert ":math:`" not in out and ".. math::" not in out, path
    assert seen > 5
