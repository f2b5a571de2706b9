"""The synthetic corpus for benchmarks: valid, clearly synthetic, and the same for the same seed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from kb.cli import cli

ROOT = Path(__file__).resolve().parent.parent
MAKE_CORPUS = ROOT / "scripts" / "make_corpus.py"


def make_corpus(out: Path, n: int = 50, seed: int = 1) -> None:
    command = [sys.executable, str(MAKE_CORPUS), "--n", str(n), "--out", str(out), "--seed", str(seed)]
    subprocess.run(command, check=True, capture_output=True, text=True)


def entries(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted((folder / "entries").glob("*.yaml"))}


def test_fifty_entries_pass_kb_validate_without_a_problem(tmp_path):
    make_corpus(tmp_path / "kb")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path / "kb"), "validate", "--strict"])
    assert result.exit_code == 0, result.output
    assert "50 entries checked: 0 error(s), 0 warning(s)" in result.output
    assert ": error:" not in result.output and ": warning:" not in result.output


def test_every_entry_is_marked_synthetic_and_has_realistic_fields(tmp_path):
    make_corpus(tmp_path / "kb")
    loaded = [yaml.safe_load(text) for text in entries(tmp_path / "kb").values()]
    assert len(loaded) == 50
    for data in loaded:
        assert data["headline"].startswith("[synthetic] ")
        assert data["citation"]["doi"].startswith("10.5555/")  # Crossref's test prefix, never a real work
        assert 3 <= len(data["citation"]["authors"]) <= 10
        assert 2 <= len(data["findings"]) <= 6
        assert data["summary"]["background"].count(". ") >= 2  # several sentences
    assert len({data["citation"]["doi"] for data in loaded}) == 50
    assert len({data["title"] for data in loaded}) == 50
    assert any("ci" in finding.get("effect", {}) for data in loaded for finding in data["findings"])


def test_the_vocabulary_is_large_and_keeps_the_projects_terms(tmp_path):
    make_corpus(tmp_path / "kb", n=5)
    vocabulary = yaml.safe_load((tmp_path / "kb" / "vocabulary.yml").read_text(encoding="utf-8"))
    project = yaml.safe_load((ROOT / "vocabulary.yml").read_text(encoding="utf-8"))
    for facet in ("mechanisms", "conditions"):
        assert len(vocabulary[facet]["terms"]) >= 300
        assert set(project[facet]["terms"]) <= set(vocabulary[facet]["terms"])


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another(tmp_path):
    make_corpus(tmp_path / "a", n=20, seed=7)
    make_corpus(tmp_path / "b", n=20, seed=7)
    make_corpus(tmp_path / "c", n=20, seed=8)
    assert entries(tmp_path / "a") == entries(tmp_path / "b")
    assert entries(tmp_path / "a") != entries(tmp_path / "c")


def test_it_refuses_to_replace_a_folder_that_is_not_a_knowledge_base(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me", encoding="utf-8")
    command = [sys.executable, str(MAKE_CORPUS), "--n", "5", "--out", str(tmp_path / "precious")]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 2
    assert "is not a knowledge base" in completed.stderr
    assert (tmp_path / "precious" / "notes.txt").read_text(encoding="utf-8") == "keep me"
