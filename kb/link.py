"""Stage 3: cross-link studies by their tags, and find each study's related studies.

The site is navigated through tags (a mechanism page lists its studies, a study lists its neighbours), so this
stage builds the posting lists once: facet -> term -> studies. Related studies are scored by the tags two studies
share, each tag weighted by its rarity (inverse document frequency: sharing "self-compassion" says more than
sharing "randomised controlled trial"), plus the explicit `related` ids, which count in both directions.

Scoring stays near-linear in the number of studies: instead of comparing every pair, each study only looks at
the posting lists of its own tags, and a very common tag contributes at most `window` neighbours (the studies
closest to it in publication order). The best candidates are then re-scored exactly on all their shared tags.
A study's related studies are ranked when asked for (`Links.related_to`): only its own page shows them, so the
work is shared out with the pages, in whichever worker process renders each one.

Example:

    >>> from kb.model import study_from_dict
    >>> def study(id, mechanisms, related=()):
    ...     return study_from_dict({"id": id, "title": id, "headline": id, "design": {"type": "rct"},
    ...         "citation": {"type": "article", "authors": [{"name": "X"}], "year": 2020}, "findings": [],
    ...         "mechanisms": mechanisms, "substances": ["mdma"], "conditions": ["ptsd"], "related": list(related),
    ...         "summary": {"background": "b", "overview": "o", "conclusions": "c"},
    ...         "evidence": {"certainty": "low", "rationale": "r"}, "record": {"added": "2026-01-01"}})
    >>> links = link_studies([study("a", ["rare"]), study("b", ["rare"]), study("c", [], related=["a"])])
    >>> [r.study.id for r in links.related_to("a")]
    ['c', 'b']
    >>> [s.id for s in links.studies_with("mechanisms", "rare")]
    ['a', 'b']
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from kb.identifiers import parent_id
from kb.model import FACETS, Study
from kb.synthesis import Trials, group_trials

RELATED_LIMIT = 6
COMMON_TAG_WINDOW = 40  # neighbours a tag shared by many studies may propose, so the work stays linear
# What a study is about (mechanism, substance, condition) makes two studies related; sharing a design or an
# application setting only adds a little, and alone never makes a study "related".
FACET_WEIGHTS = {
    "mechanisms": 1.0,
    "substances": 1.0,
    "conditions": 1.0,
    "designs": 0.25,
    "settings": 0.25,
    "outcomes": 0.25,
}
TOPIC_FACETS = ("mechanisms", "substances", "conditions")
SHORTLIST_FACTOR = 3  # candidates re-scored exactly per related study shown (2 loses a few percent of score)

Tag = tuple[str, str]  # (facet, term slug)


@dataclass(frozen=True)
class RelatedStudy:
    study: Study
    score: float
    shared: tuple[Tag, ...]  # the tags both studies carry, rarest first
    explicit: bool  # named in `related` by either study


@dataclass
class Links:
    """Everything later stages need to cross-link pages, computed once (related studies: when asked for)."""

    studies: list[Study]  # newest first, then by id: the order every list on the site uses
    by_id: dict[str, Study]
    by_tag: dict[str, dict[str, list[Study]]]  # facet -> term slug -> studies, newest first
    relatedness: Relatedness
    trials: Trials  # which reports are one trial (parent entries, shared registrations)

    def related_to(self, study_id: str) -> list[RelatedStudy]:
        """The study's related studies, best first: the ones its entry names (either way round), then the ones
        sharing the most (and rarest) topic tags; at most `limit` in all unless more are named."""
        return self.relatedness.related(study_id)

    def studies_with(self, facet: str, slug: str) -> list[Study]:
        return self.by_tag.get(facet, {}).get(slug, [])

    def terms_in_use(self, facet: str) -> list[str]:
        return sorted(self.by_tag.get(facet, {}))


def study_order(study: Study) -> tuple:
    """Newest first; undated studies last; ties by id, so the order never depends on file system order."""
    return (-(study.citation.year or 0), study.id)


def study_tags(study: Study) -> list[Tag]:
    return [(facet, slug) for facet in FACETS for slug in study.tags(facet)]


def link_studies(studies: Iterable[Study], limit: int = RELATED_LIMIT, window: int = COMMON_TAG_WINDOW) -> Links:
    ordered = sorted(studies, key=study_order)
    tags = [study_tags(study) for study in ordered]
    by_tag: dict[str, dict[str, list[Study]]] = {facet: defaultdict(list) for facet in FACETS}
    for study, its_tags in zip(ordered, tags, strict=True):
        for facet, slug in its_tags:
            by_tag[facet][slug].append(study)
    by_tag = {facet: dict(terms) for facet, terms in by_tag.items()}
    by_id = {study.id: study for study in ordered}
    relatedness = Relatedness(ordered, tags, by_id, limit, window)
    parents = {s.id: parent_id(s.design.parent) for s in ordered}
    trials = group_trials(ordered, {child: parent for child, parent in parents.items() if parent})
    return Links(studies=ordered, by_id=by_id, by_tag=by_tag, relatedness=relatedness, trials=trials)


class Relatedness:
    """What ranking a study's related studies needs, prepared once for all of them.

    Studies are numbered by publication order, so "closest in time" is "closest in number". Tags become numbers,
    rarest first (ties by name): sets of small numbers are compact and quick to intersect, and sorting shared
    numbers gives the order pages show shared tags in."""

    def __init__(
        self,
        ordered: list[Study],
        tags: list[list[Tag]],
        by_id: dict[str, Study],
        limit: int,
        window: int,
    ):
        self.ordered, self.limit, self.window = ordered, limit, window
        self.position = {study.id: index for index, study in enumerate(ordered)}
        postings: dict[Tag, list[int]] = defaultdict(list)  # tag -> study numbers, ascending
        for index, its_tags in enumerate(tags):
            for tag in its_tags:
                postings[tag].append(index)
        weight = {tag: FACET_WEIGHTS[tag[0]] * math.log(1 + len(ordered) / len(ids)) for tag, ids in postings.items()}
        self.numbered = sorted(weight, key=lambda tag: (-weight[tag], tag))
        number = {tag: index for index, tag in enumerate(self.numbered)}
        self.weights = [weight[tag] for tag in self.numbered]
        self.topic_postings = [postings[tag] if tag[0] in TOPIC_FACETS else None for tag in self.numbered]
        self.study_numbers = [[number[tag] for tag in its_tags] for its_tags in tags]
        pairs = _explicit_pairs(ordered, by_id)
        self.explicit = [[self.position[other] for other in pairs[study.id]] for study in ordered]
        self.ranking = _Ranking([frozenset(numbers) for numbers in self.study_numbers], self.weights)

    def related(self, study_id: str) -> list[RelatedStudy]:
        index = self.position[study_id]
        return [
            RelatedStudy(self.ordered[c.other], c.score, tuple(self.numbered[tag] for tag in c.shared), c.explicit)
            for c in self._rank(index)
        ]

    def _rank(self, index: int) -> list[_Choice]:
        rough: dict[int, float] = defaultdict(float)
        for tag in self.study_numbers[index]:  # a list, not the set: the same float sums on every run
            posting = self.topic_postings[tag]
            if posting is not None:
                tag_weight = self.weights[tag]
                for other in _neighbours(posting, index, self.window):
                    rough[other] += tag_weight
        chosen = self.explicit[index]
        for taken in (index, *chosen):
            rough.pop(taken, None)
        # Highest rough score first; ties go to the newer study (lower number): nlargest keeps the order of equal
        # keys, and the candidates are sorted by number first.
        shortlist = heapq.nlargest(SHORTLIST_FACTOR * self.limit, sorted(rough), key=rough.__getitem__)
        return self.ranking.rank(index, chosen, shortlist, self.limit)


def _neighbours(posting: list[int], index: int, window: int) -> list[int]:
    """All studies with the tag, or for a common tag the `window` closest in publication order."""
    if len(posting) <= window:
        return posting
    middle = bisect_left(posting, index)
    start = max(0, min(middle - window // 2, len(posting) - window))
    return posting[start : start + window]


def _explicit_pairs(ordered: list[Study], by_id: dict[str, Study]) -> dict[str, list[str]]:
    """`related` ids in both directions: if A names B, B's page links back to A."""
    pairs: dict[str, list[str]] = {study.id: [] for study in ordered}
    for study in ordered:
        for other in study.related:
            if other in by_id and other != study.id:
                pairs[study.id].append(other)
                pairs[other].append(study.id)
    return {key: list(dict.fromkeys(values)) for key, values in pairs.items()}


@dataclass(frozen=True)
class _Choice:
    """A related study by its position in publication order, and shared tags by number."""

    other: int
    score: float
    shared: tuple[int, ...]
    explicit: bool


class _Ranking:
    """Exact scores on every shared tag, for the explicit links and the shortlisted candidates."""

    def __init__(self, tag_sets: list[frozenset[int]], weights: list[float]):
        self.tag_sets, self.weights = tag_sets, weights

    def shared(self, index: int, other: int) -> tuple[int, ...]:
        """Tags both carry, rarest first."""
        return tuple(sorted(self.tag_sets[index] & self.tag_sets[other]))

    def score(self, shared: tuple[int, ...]) -> float:
        return round(sum(self.weights[tag] for tag in shared), 6)

    def rank(self, index: int, explicit: list[int], shortlist: list[int], limit: int) -> list[_Choice]:
        """Explicit links first (all of them, in the order written), then the best of the shortlist."""
        related = []
        for other in explicit:
            shared = self.shared(index, other)
            related.append(_Choice(other, self.score(shared), shared, True))
        scored = []
        for other in shortlist:
            shared = self.shared(index, other)
            scored.append((-self.score(shared), other, shared))
        scored.sort(key=lambda candidate: candidate[:2])
        for negative_score, other, shared in scored[: max(0, limit - len(explicit))]:
            related.append(_Choice(other, -negative_score, shared, False))
        return related
