"""griffe extension for the API pages: docstrings are written in the Google style with a few
reStructuredText habits (``:math:`` roles, ``.. math::`` blocks, ```text <url>`_`` links), which
Markdown would show raw. Here

* a docstring's ``Example:`` section is read as Google style's ``Examples:`` section, so its
  doctest lines render as code with their output;
* math becomes MathML at build time (latex2mathml), which browsers draw natively: nothing is
  fetched when a page is viewed (an expression latex2mathml cannot read stays as code);
* reST links become Markdown links.
"""

from __future__ import annotations

import html
import logging
import re

try:
    import griffe
except ImportError:  # the docs extra is not installed (the test suite imports the converters)
    griffe = None

try:
    from latex2mathml.converter import convert as _to_mathml
except ImportError:  # the docs extra is not installed: math stays as code
    _to_mathml = None

_LOG = logging.getLogger("mkdocs.plugins.jaxopt_zoo.math")
_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)
_ROLE = re.compile(r":math:`([^`]+)`")
_LINK = re.compile(r"`([^`<>]+?)\s*<(https?://[^>]+)>`__?")
# ``.. math::`` then the expression on the same line and/or in the more indented lines below
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. math::(?P<first>.*)\n(?P<body>(?:[ \t]*\n|(?P=indent)[ \t]+\S.*\n)*)", re.M)


def mathml(tex: str, display: bool = False) -> str:
    """``tex`` as one line of MathML (or as code when it cannot be converted)."""
    tex = " ".join(tex.split())
    if _to_mathml is not None:
        try:
            return _to_mathml(tex, display="block" if display else "inline").replace("\n", "")
        except Exception as e:  # noqa: BLE001 - any parse failure: keep the source visible
            _LOG.info("math left as code (%s): %s", type(e).__name__, tex)
    return f"<code>{html.escape(tex)}</code>"


def rest_to_markdown(text: str) -> str:
    """The reST habits of the docstrings, as Markdown/HTML (see the module docstring)."""
    text = _BLOCK.sub(lambda m: f"{m['indent']}{mathml(m['first'] + ' ' + m['body'], display=True)}\n\n",
                      text + "\n").rstrip("\n")
    text = _ROLE.sub(lambda m: mathml(m[1]), text)
    return _LINK.sub(lambda m: f"[{m[1]}]({m[2]})", text)


if griffe is not None:

    class ExampleSection(griffe.Extension):
        def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
            if obj.docstring is not None:
                value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
                obj.docstring.value = rest_to_markdown(value)
