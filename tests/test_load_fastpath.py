"""kb.load builds plain documents on a fast path; it must give exactly what PyYAML's generic constructor gives
(the same data, or the same first error) for every document, plain or not."""

from __future__ import annotations

import pytest
import yaml

from kb.load import EntryLoader, load_text
from kb.problems import ProblemError


class GenericLoader(EntryLoader):
    """The loader without the fast path: PyYAML's own construction and tag resolution."""

    def construct_document(self, node):
        return yaml.constructor.BaseConstructor.construct_document(self, node)

    def resolve(self, kind, value, implicit):
        return yaml.resolver.BaseResolver.resolve(self, kind, value, implicit)


DOCUMENTS = [
    "id: x\ntitle: Psilocybin\ncitation: {year: 2025, volume: '16', authors: [{family: A}]}\n",
    "i: 0x1F\nj: 1_000\nk: .inf\nl: yes\nm: ~\nn: ''\no: '1'\np: 1.5e+3\nq: -0\nr: 0o17\ns: 190:20:30\nt: .NaN\n",
    "added: 2025-01-02\nwhen: 2025-01-02 10:00:00\nexplicit: !!timestamp 2020-01-01\n",
    "a: &x 1\nb: *x\n",
    "c: &y [1]\nd: *y\na: {b: 1, b: 2}\n",
    "a: {b: 1, b: 2}\nc: &y [1]\nd: *y\n",
    "x: [{a: 1, a: 2}]\ny: {b: 1, b: 2}\n",
    "a: 1\na: 2\n",
    "1: a\n'1': b\n",
    "base: {a: 1}\nm:\n  <<: {b: 2}\n  c: 3\n",
    "s: !!set {a, b}\no: !!omap [a: 1, b: 2]\nbin: !!binary aGVsbG8=\n",
    "? [a, b]\n: 1\n",
    "= : 1\n",
    "a: !custom 1\n",
    "a: !!str {x: 1}\n",
    "k: !!str 12\nl: !!int '7'\nm: !!float '1'\nn: !!null ''\nb: !!bool 'true'\n",
    "",
    "just text",
    "- 1\n- a\n- {x: y}\n",
    "x: " + "[" * 40 + "]" * 40 + "\n",
    "title: 'Self-compassion: a mediator'\nnote: \"tab\\there\"\nlong: >\n  folded\n  text\nlit: |\n  kept\n",
]


def outcome(text: str, loader) -> tuple:
    try:
        return ("ok", yaml.load(text, Loader=loader))
    except yaml.YAMLError as error:
        return ("error", type(error).__name__, str(error))


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_fast_path_gives_what_pyyaml_gives(text):
    assert outcome(text, EntryLoader) == outcome(text, GenericLoader)


def test_dates_stay_text_and_aliases_and_duplicate_keys_are_refused_with_their_line():
    assert load_text("added: 2025-01-02\n", "x.yaml").data == {"added": "2025-01-02"}
    with pytest.raises(ProblemError) as error:
        load_text("a: 1\nb:\n  c: 2\n  c: 3\n", "x.yaml")
    assert error.value.problem.format().startswith("x.yaml:4:3: error: duplicate key 'c' (first written on line 3)")
    with pytest.raises(ProblemError) as error:
        load_text("a: &x [1]\nb: *x\n", "x.yaml")
    assert error.value.problem.line == 2 and "anchors and aliases" in error.value.problem.message


def _tracked_dicts_made(count: int) -> list[dict]:
    return [{"n": [number]} for number in range(count)]


def test_collector_pauses_and_keeps_or_collects_what_was_made() -> None:
    """gc_paused switches the cycle collector back on afterwards; with keep_after what was made meanwhile is
    exempt from it (frozen), so its first pass does not walk a whole knowledge base."""
    import gc

    from kb.load import gc_paused

    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        with gc_paused(keep_after=True):
            assert not gc.isenabled()
            kept = _tracked_dicts_made(1000)
        assert gc.isenabled()
        assert gc.get_freeze_count() - frozen_before >= 2000  # each dict and its list
        assert len(kept) == 1000
        with gc_paused(collect_after=True):
            loop = []
            loop.append(loop)  # a cycle that only the collector can free
            del loop
        assert gc.isenabled() and gc.get_count()[0] < 10  # collected at the end of the pause
    finally:
        gc.unfreeze()
        gc.enable()
