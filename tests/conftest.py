"""Test-wide settings: the code kb compiles and keeps between runs (kb.codecache) goes to a folder of this test
session, not the user's cache, in this process and in every `kb` the tests start."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def private_code_cache(tmp_path_factory: pytest.TempPathFactory):
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before
