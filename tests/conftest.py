"""Test-wide settings and shared fixtures: the code kb compiles and keeps between runs (kb.codecache) goes to a
folder of this test session, not the user's cache, in this process and in every `kb` the tests start; the DOI
tests' local Crossref (`env`); the browser tests' served site and headless Chromium (`base_url`, `browser`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from doi_support import use_local_server
from site_support import CHROMIUM, CHROMIUM_ARGS, built_site, serve_folder, site_url


@pytest.fixture(autouse=True, scope="session")
def private_code_cache(tmp_path_factory: pytest.TempPathFactory):
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(_code_cache(tmp_path_factory))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def env(httpserver, tmp_path, monkeypatch):
    """Crossref and doi.org answered by a local server with recorded responses (tests/doi_support.py)."""
    return use_local_server(httpserver, tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    project = built_site(tmp_path_factory)
    server, url = serve_folder(project.site_dir, port=int(site_url().rsplit(":", 1)[1].strip("/")))
    assert url == site_url()
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _code_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this session; under mutmut, one for all its runs: each mutant is a new session, and compiling
    the templates and the schema afresh would cost each one three seconds. Safe to share, because what kb keeps there
    is keyed by what it was compiled from (the schema with its options, each template with the environment's)."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        shared = Path(tempfile.gettempdir()) / "kb-mutation-code-cache"
        shared.mkdir(mode=0o700, exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("xdg-cache")


if "MUTANT_UNDER_TEST" in os.environ:  # under mutmut: import statsmodels (2 s) once, in the process it forks runs from
    import statsmodels.stats.meta_analysis  # noqa: F401 - kb.synthesis imports it when it first pools

# Mutation testing (benchmarks/MUTATION.md): mutmut names the mutant it is checking in MUTANT_UNDER_TEST ("stats"
# while it learns which tests run which function). A test marked `mutation_scope("kb.build.", ...)` runs a whole
# generation, seconds each: it is kept for the mutants of the functions it is there to check, and left out for the
# thousands of render mutants it also executes, which the render tests check in milliseconds.
MUTMUT_PHASES = {"stats", "list_all_tests", "fail"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if not mutant or mutant in MUTMUT_PHASES:
        return
    kept, left_out = [], []
    for item in items:
        scope = item.get_closest_marker("mutation_scope")
        (kept if scope is None or mutant.startswith(scope.args) else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
