"""Every example in kb's docstrings runs and gives what it shows (they are documentation a newcomer trusts)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import kb


def modules_with_examples() -> list[str]:
    names = [kb.__name__] + [info.name for info in pkgutil.walk_packages(kb.__path__, prefix="kb.")]
    return [name for name in names if ">>> " in (importlib.import_module(name).__loader__.get_source(name) or "")]


def test_the_examples_are_found():
    """The collection below is not empty by accident: the modules known to hold examples are in it."""
    found = modules_with_examples()
    assert {"kb.link", "kb.synthesis", "kb.render.synthesis", "kb.references.apa"} <= set(found)
    assert len(found) >= 20


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples_hold(name: str):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
