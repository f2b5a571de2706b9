"""View models of the evidence synthesis (kb.synthesis) on term pages, and its `downloads/synthesis.json`.

Each term page answers "what do the studies on this say together?": a summary-of-findings table (outcome,
comparison, studies, unique participants, effects or the pooled estimate, how consistent the directions are,
the best certainty), then per outcome and comparison a forest plot of every study's effect with its 95% CI and,
where enough independent trials allow, an exploratory pooled estimate drawn as a diamond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kb.link import Links
from kb.model import Study
from kb.render.common import CERTAINTY_LABELS, RowCache, StudyRow, TermLink, number, term_link
from kb.render.plot import METRIC_LABELS, ForestPlot, PlotItem, effect_text, forest_plot
from kb.synthesis import OutcomeGroup, Pooled, consistency, outcome_groups
from kb.vocabulary import Vocabulary

COMPARISON_LABELS = {
    "placebo": "vs placebo",
    "active": "vs another active treatment",
    "waitlist": "vs waiting list",
    "usual-care": "vs usual care",
    "dose-comparison": "one dose vs another",
    "within-group": "before vs after, same people",
    "other": "other comparison",
    None: "not stated",
}
FAMILY_LABELS = METRIC_LABELS  # a family is named after its metric; "smd" covers d, g and SMD


@dataclass(frozen=True)
class EffectView:
    study: StudyRow
    text: str  # "Cohen's d 0.91 [0.52, 1.30]"
    in_pool: bool


@dataclass(frozen=True)
class PooledView:
    label: str  # the metric family
    k: int
    estimate_text: str  # "0.83 [0.38, 1.27]"
    prediction_text: str | None
    tau2: str
    i2: str
    studies: list[StudyRow]


@dataclass(frozen=True)
class OutcomeView:
    """One row of the summary-of-findings table and its section below it."""

    anchor: str
    domain: TermLink
    comparison: str
    studies: list[StudyRow]
    participation: str
    effects: list[EffectView]
    pooled: list[PooledView]
    consistency: str
    certainty: str
    certainty_label: str
    plots: list[ForestPlot]


def term_synthesis(
    facet: str, slug: str, studies: list[Study], links: Links, vocabulary: Vocabulary, rows: RowCache
) -> list[OutcomeView]:
    """The synthesis shown on one term page (an outcome's own page shows only that outcome)."""
    groups = outcome_groups(studies, links.trials)
    if facet == "outcomes":
        groups = [g for g in groups if g.domain == slug]
    return [_outcome_view(group, vocabulary, rows) for group in groups]


def _outcome_view(group: OutcomeGroup, vocabulary: Vocabulary, rows: RowCache) -> OutcomeView:
    anchor = f"outcome-{group.domain}-{group.comparison or 'no-effect'}"
    pooled_ids = {study_id for pooled in group.pooled for study_id in pooled.studies}
    by_id = {s.id: s for s in group.studies}
    return OutcomeView(
        anchor=anchor,
        domain=term_link(vocabulary, "outcomes", group.domain),
        comparison=COMPARISON_LABELS.get(group.comparison, group.comparison or ""),
        studies=rows.many(group.studies),
        participation=group.participation.text,
        effects=[
            EffectView(rows(row.study), _effect_text(row.metric, row.finding.effect), row.study.id in pooled_ids)
            for row in group.effects
        ],
        pooled=[_pooled_view(pooled, by_id, rows) for pooled in group.pooled],
        consistency=consistency(group.directions),
        certainty=group.best_certainty,
        certainty_label=CERTAINTY_LABELS[group.best_certainty],
        plots=_plots(group, anchor, rows),
    )


def _effect_text(metric: str, effect) -> str:
    return f"{METRIC_LABELS.get(metric, metric)} {effect_text(effect.value, effect.ci)}"


def _pooled_view(pooled: Pooled, by_id: dict[str, Study], rows: RowCache) -> PooledView:
    prediction = None
    if pooled.prediction:
        prediction = f"{_round(pooled.prediction[0])} to {_round(pooled.prediction[1])}"
    return PooledView(
        label=FAMILY_LABELS.get(pooled.metric, pooled.metric),
        k=pooled.k,
        estimate_text=f"{_round(pooled.estimate)} [{_round(pooled.ci[0])}, {_round(pooled.ci[1])}]",
        prediction_text=prediction,
        tau2=_round(pooled.tau2, 3),
        i2=f"{pooled.i2:.0f}%",
        studies=[rows(by_id[study_id]) for study_id in pooled.studies],
    )


def _round(value: float, places: int = 2) -> str:
    """The figure as the tables show it: plain decimals, even for a tiny prediction bound (never 2.5e-07)."""
    text = number(_rounded(value, places))
    return f"{value:.{_decimals(value, places)}f}" if "e" in text else text


def _rounded(value: float, places: int = 2) -> float:
    """`places` decimals, but never fewer than two significant figures: a pooled odds ratio's lower bound of 0.0034
    must not read 0, a value no ratio can take (and a point no log axis can draw).

    >>> _rounded(0.8349), _rounded(0.0034), _rounded(-0.01234), _rounded(0.0961, 3), _rounded(0.0)
    (0.83, 0.0034, -0.012, 0.096, 0.0)
    """
    return round(value, _decimals(value, places))


def _decimals(value: float, places: int) -> int:
    return places if value == 0 else max(places, 1 - math.floor(math.log10(abs(value))))


def _plots(group: OutcomeGroup, anchor: str, rows: RowCache) -> list[ForestPlot]:
    """One plot per metric family with intervals: a row per study effect, then the pooled diamond."""
    plots = []
    for family in group.families:
        items = [
            PlotItem(f"{rows(row.study).cite}: {row.finding.outcome}", *_value_ci(row))
            for row in group.effects_of(family)
            if row.finding.effect.ci
        ]
        if not items:
            continue
        pooled = group.pooled_for(family)
        if pooled:
            estimate, ci = _rounded(pooled.estimate), (_rounded(pooled.ci[0]), _rounded(pooled.ci[1]))
            items.append(PlotItem(f"Pooled, {pooled.k} trials (exploratory)", estimate, ci, True))
        metric = group.effects_of(family)[0].metric if family == "smd" else family
        plots.append(forest_plot(metric, items, f"{anchor}-{family}", FAMILY_LABELS.get(family)))
    return plots


def _value_ci(row) -> tuple[float, tuple[float, float]]:
    return row.finding.effect.value, row.finding.effect.ci


# --- downloads/synthesis.json ----------------------------------------------------------------------------------


def synthesis_records(links: Links) -> list[dict]:
    """Every group of every term page, as the issue's public contract spells it: one record per (facet, term,
    domain, comparison, metric family). In a pooled record `studies` lists exactly the reports whose effects
    entered the pool; elsewhere the pooled figures are null."""
    records = []
    for facet, terms in links.by_tag.items():
        for slug in sorted(terms):
            groups = outcome_groups(terms[slug], links.trials)
            if facet == "outcomes":
                groups = [g for g in groups if g.domain == slug]
            for group in groups:
                records += _group_records(facet, slug, group)
    return records


def _group_records(facet: str, slug: str, group: OutcomeGroup) -> list[dict]:
    base = {"facet": facet, "term": slug, "domain": group.domain, "comparison": group.comparison}
    if not group.effects:
        ids = [s.id for s in group.studies]
        return [{**base, "metric": None, "k": len(ids), "studies": ids, **_not_pooled()}]
    records = []
    for family in group.families:
        pooled = group.pooled_for(family)
        if pooled:
            records.append({**base, "metric": family, "k": pooled.k, "studies": pooled.studies, **_pooled(pooled)})
        else:
            ids = list(dict.fromkeys(row.study.id for row in group.effects_of(family)))
            records.append({**base, "metric": family, "k": len(ids), "studies": ids, **_not_pooled()})
    return records


def _pooled(pooled: Pooled) -> dict:
    return {
        "estimate": pooled.estimate,
        "ci": list(pooled.ci),
        "tau2": pooled.tau2,
        "i2": pooled.i2,
        "prediction": list(pooled.prediction) if pooled.prediction else None,
        "method": pooled.method,
    }


def _not_pooled() -> dict:
    return dict.fromkeys(("estimate", "ci", "tau2", "i2", "prediction", "method"))
