"""Incremental regeneration (kb serve, issue 13): after any kind of edit, what a regeneration that reuses its
memory writes into docs/ is byte for byte what a generation from scratch writes, and it renders only the pages
the edit touches.

Each edit is applied to one copy of the knowledge base, regenerated with the memory kept from the runs before
(the edits build on each other, as a contributor's session does), and compared with a second copy generated from
nothing. A key (kb.render.reuse) that missed something a page shows would leave that page stale, and fail here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from site_support import copy_project, override_template

from kb.build import Memory, generate
from kb.project import Project
from kb.render.output import GENERATED_DIRS, GENERATED_FILES

# Seconds a test: under mutmut, only for the mutants of what these tests are about (tests/conftest.py): the page keys,
# the render step's reuse, and the functions of kb/build.py that pass the memory on
pytestmark = pytest.mark.mutation_scope(
    "kb.render.reuse.", "kb.render.x__unchanged", "kb.build.x_generate", "kb.build.x__generate", "kb.build.x_regenerate"
)


def generated_files(docs: Path) -> dict[str, bytes]:
    files = {}
    for name in GENERATED_DIRS:
        for path in sorted((docs / name).rglob("*")):
            if path.is_file():
                files[path.relative_to(docs).as_posix()] = path.read_bytes()
    for name in GENERATED_FILES:
        if (docs / name).is_file():
            files[name] = (docs / name).read_bytes()
    return files


def entry(root: Path, study_id: str) -> Path:
    return root / "entries" / f"{study_id}.yaml"


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


# Each edit: what a contributor does, as a function of the knowledge base's folder. They run in this order.
PARENT, CHILD = "carhart-harris-2021-psilocybin-escitalopram", "barba-2022-psilocybin-rumination"


def edit_summary(root: Path) -> None:
    replace_in(entry(root, CHILD), "Rumination changed differently", "Rumination (edited) changed differently")


def edit_parent_headline(root: Path) -> None:  # the child's page shows its parent's headline
    text = entry(root, PARENT).read_text(encoding="utf-8")
    headline = re.search(r"^headline: (.+)$", text, re.M).group(1)
    replace_in(entry(root, PARENT), f"headline: {headline}", "headline: A new headline for the parent trial")


def add_a_tag(root: Path) -> None:  # related studies, term pages and the facet counts change
    replace_in(entry(root, CHILD), "mechanisms: [rumination,", "mechanisms: [self-compassion, rumination,")


def change_a_year(root: Path) -> None:  # reorders lists, may add or drop year suffixes (2022a, 2022b)
    replace_in(entry(root, CHILD), "  year: 2022\n", "  year: 2021\n")


def add_an_entry(root: Path) -> None:
    source = entry(root, CHILD)
    copy = entry(root, "barba-2022-psilocybin-rumination-copy")
    text = source.read_text(encoding="utf-8").replace(f"id: {CHILD}", "id: barba-2022-psilocybin-rumination-copy")
    text = text.replace("doi: 10.1192/bjo.2022.565", "doi: 10.1192/bjo.2022.999")
    copy.write_text(text.replace("title: Effects of psilocybin", "title: Another look at psilocybin"), "utf-8")


def break_an_entry(root: Path) -> None:  # a failed run between two good ones
    replace_in(entry(root, CHILD), "design:\n", "design: [\n")


def mend_it(root: Path) -> None:
    replace_in(entry(root, CHILD), "design: [\n", "design:\n")


def remove_the_parent(root: Path) -> None:  # its children's pages lose their parent row
    entry(root, PARENT).unlink()
    for path in (root / "entries").glob("*.yaml"):
        text = path.read_text(encoding="utf-8").replace(f"parent: {PARENT}", "parent: The escitalopram trial")
        text = re.sub(rf"^related: \[{PARENT}\]\n", "", text, flags=re.M)
        path.write_text(re.sub(rf"{PARENT}, |, {PARENT}", "", text), encoding="utf-8")


def relabel_a_term(root: Path) -> None:  # the vocabulary: every page may show a label
    replace_in(root / "vocabulary.yml", "label: Psilocybin", "label: Psilocybin (magic mushrooms)")


def override_a_template(root: Path) -> None:
    template = override_template(root, "study.md.j2")
    template.write_text(template.read_text(encoding="utf-8") + "\n<!-- overridden -->\n", encoding="utf-8")


EDITS = [
    edit_summary,
    edit_parent_headline,
    add_a_tag,
    change_a_year,
    add_an_entry,
    break_an_entry,
    mend_it,
    remove_the_parent,
    relabel_a_term,
    override_a_template,
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("reuse") / "kb", with_fixtures=False)
    memory = Memory()
    assert generate(Project(root), memory=memory).ok
    return root, memory, []


@pytest.mark.parametrize("edit", EDITS, ids=[edit.__name__ for edit in EDITS])
def test_a_regeneration_that_reuses_its_memory_writes_what_one_from_scratch_writes(session, edit, tmp_path):
    root, memory, applied = session
    for earlier in EDITS[: EDITS.index(edit) + 1]:  # the edits before it too, if the tests run in another order
        if earlier not in applied:
            earlier(root)
            applied.append(earlier)
    kept = generate(Project(root), memory=memory)
    fresh_root = tmp_path / "fresh"
    shutil.copytree(root, fresh_root, ignore=shutil.ignore_patterns("docs", ".cache"))
    shutil.copytree(root / "docs", fresh_root / "docs", ignore=shutil.ignore_patterns(*GENERATED_DIRS, "feed.xml"))
    fresh = generate(Project(fresh_root))
    assert kept.ok == fresh.ok
    assert [p.format() for p in kept.problems] == [
        p.format().replace(str(fresh_root), str(root)) for p in fresh.problems
    ]
    if fresh.ok:
        ours, theirs = generated_files(root / "docs"), generated_files(fresh_root / "docs")
        assert sorted(ours) == sorted(theirs)
        assert [path for path in theirs if ours[path] != theirs[path]] == []


def test_an_edit_renders_only_the_pages_that_show_it(tmp_path, monkeypatch):
    from kb import render

    root = copy_project(tmp_path / "kb", with_fixtures=False)
    memory = Memory()
    assert generate(Project(root), memory=memory).ok
    rendered = []
    real = render._study_files
    monkeypatch.setattr(render, "_study_files", lambda *a: rendered.append(a[1].id) or real(*a))
    assert generate(Project(root), memory=memory).report.written == []
    assert rendered == []  # nothing changed, nothing rendered
    edit_summary(root)
    report = generate(Project(root), memory=memory).report
    assert rendered == [CHILD]
    assert f"studies/{CHILD}.md" in report.written
