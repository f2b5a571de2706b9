"""The compiled schema check and compiled templates are kept between runs, and a missing, damaged or unwritable
cache only costs the compile (kb.codecache)."""

from __future__ import annotations

import stat
from pathlib import Path

import fastjsonschema
import jinja2
import pytest

from kb.codecache import folder, load_code
from kb.load import load_text
from kb.render import templating
from kb.render.templating import make_environment
from kb.validate import schema

ROOT = Path(__file__).resolve().parent.parent
SEED_ENTRY = ROOT / "entries" / "agin-liebes-2025-self-compassion.yaml"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    schema._fast_validator.cache_clear()
    yield home
    schema._fast_validator.cache_clear()


def _entry() -> dict:
    return load_text(SEED_ENTRY.read_text(encoding="utf-8"), str(SEED_ENTRY)).data


def _refuse_to_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*arguments, **keywords):
        raise AssertionError("compiled again instead of read from the cache")

    monkeypatch.setattr(fastjsonschema, "compile", refuse)
    monkeypatch.setattr(fastjsonschema, "compile_to_code", refuse)


def _judges_like_a_fresh_compile(validator) -> None:
    good = _entry()
    validator(good)
    bad = {**good, "title": 5}
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validator(bad)
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validator({**good, "citation": {**good["citation"], "authors": [{"family": "X", "name": "Y"}]}})


def test_the_schema_check_is_compiled_once_then_read_back(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _judges_like_a_fresh_compile(schema._fast_validator())
    kept = list((cache_home / "kb" / "schema").iterdir())
    assert len(kept) == 1
    schema._fast_validator.cache_clear()
    _refuse_to_compile(monkeypatch)
    _judges_like_a_fresh_compile(schema._fast_validator())


def test_the_cache_folders_are_private(cache_home: Path) -> None:
    schema._fast_validator()
    for path in (cache_home / "kb", cache_home / "kb" / "schema"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_a_damaged_cache_file_is_compiled_again(cache_home: Path) -> None:
    schema._fast_validator()
    [kept] = (cache_home / "kb" / "schema").iterdir()
    kept.write_bytes(b"\x00not marshal data")
    schema._fast_validator.cache_clear()
    _judges_like_a_fresh_compile(schema._fast_validator())
    name, code = load_code("schema", kept.name.split("-")[0])
    assert name.startswith("validate") and code.co_filename == "<study.schema.json>"


def test_no_cache_folder_to_write_only_means_compiling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    schema._fast_validator.cache_clear()
    try:
        assert folder("schema") is None
        _judges_like_a_fresh_compile(schema._fast_validator())
        assert make_environment(tmp_path).bytecode_cache is None
    finally:
        schema._fast_validator.cache_clear()


def test_validating_the_shipped_entries_fills_the_cache_and_gives_the_same_answer(cache_home: Path) -> None:
    from kb.validate import validate_entries
    from kb.vocabulary import load_vocabulary

    paths = sorted((ROOT / "entries").glob("[!_]*.yaml"))
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    first = validate_entries(paths, vocabulary, others=paths)
    schema._fast_validator.cache_clear()
    second = validate_entries(paths, vocabulary, others=paths)
    assert [s.id for s in first.studies] == [s.id for s in second.studies] and first.problems == second.problems
    assert list((cache_home / "kb" / "schema").iterdir())


def test_compiled_templates_are_reused_until_their_source_changes(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.md.j2").write_text("Hello {{ name }}\n", encoding="utf-8")
    assert make_environment(templates).get_template("page.md.j2").render(name="<b>") == "Hello &lt;b&gt;\n"
    assert list((cache_home / "kb" / "templates").iterdir())

    def refuse(self, *arguments, **keywords):
        raise AssertionError("compiled again instead of read from the cache")

    with monkeypatch.context() as patch:
        patch.setattr(jinja2.Environment, "compile", refuse)
        assert make_environment(templates).get_template("page.md.j2").render(name="<b>") == "Hello &lt;b&gt;\n"
    (templates / "page.md.j2").write_text("Goodbye {{ name }}\n", encoding="utf-8")
    assert make_environment(templates).get_template("page.md.j2").render(name="<b>") == "Goodbye &lt;b&gt;\n"


def test_templates_compiled_under_other_options_are_not_reused(cache_home, tmp_path, monkeypatch):
    """Jinja2 keys its compiled templates by their source alone; kb adds its environment's options to the file
    names, so that a kb which compiles with other options (here: no trim_blocks) never loads the old code."""
    folder_ = tmp_path / "templates"
    folder_.mkdir()
    (folder_ / "page.md.j2").write_text("{% if true %}\nkept\n{% endif %}\n", encoding="utf-8")
    assert make_environment(folder_).get_template("page.md.j2").render() == "kept\n"
    monkeypatch.setitem(templating.TEMPLATE_OPTIONS, "trim_blocks", False)
    assert make_environment(folder_).get_template("page.md.j2").render() == "\nkept\n\n"
    assert len(list((cache_home / "kb" / "templates").iterdir())) == 2
