"""Focused tests of kb/render that kill mutants mutmut found surviving (`make mutation`, benchmarks/MUTATION.md).

The site tests build the whole site and read its HTML; these pin, in milliseconds, what a render function hands the
templates, so that a mutant of it fails here too (mutmut runs only the fast tests per mutant).
"""

from __future__ import annotations

import functools
from pathlib import Path

from kb.model import Study
from kb.render.safety import CountView, safety_view
from kb.validate import validate_entries
from kb.vocabulary import load_vocabulary

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def shipped_studies() -> dict[str, Study]:
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    paths = sorted((ROOT / "entries").glob("[!_]*.yaml"))
    result = validate_entries(paths, vocabulary, others=paths)
    assert result.ok()
    return {study.id: study for study in result.studies}


def test_harms_are_shown_against_the_size_of_their_arm():
    view = safety_view(shipped_studies()["peck-2023-psilocybin-anorexia"])
    assert view.serious == [CountView("Psilocybin", "0 of 10")]
    assert view.discontinuations == []
    assert view.common == ["hypoglycaemia without symptoms"]
    assert view.source.startswith("Abstract; serious adverse events")
    assert view.summary.startswith("Heart tracings, vital signs")
