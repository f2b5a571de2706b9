"""Stage 3b: what the studies on one topic say together (between link and render).

A practitioner asks "what helps with PTSD, how sure are we, how safe is it?". This stage answers from the
records, the way a Cochrane summary-of-findings table does:

- **A trial counts once.** Reports of one trial (a secondary analysis or follow-up whose `design.parent` names
  its entry, or reports sharing a registration id) form one trial. Participant totals count each trial once:
  the largest n among its primary reports, or among its secondary reports when no primary report is in the set.
  Reviews and pooled analyses (design `systematic-review`) add no participants: their trials are counted where
  they have entries of their own.
- **Grouped by outcome and comparison**: findings with a `domain` (a term of the outcomes facet), grouped by
  domain and by `effect.comparison`, with the studies, unique participants, effects, how consistent the
  directions are and the best certainty of evidence.
- **An exploratory pooled estimate** where at least `MIN_POOLED` independent trials report a standardised mean
  difference (or the same ratio) with a 95% CI for the same domain and comparison: DerSimonian-Laird random
  effects (statsmodels), the SE taken from the CI (Cochrane Handbook 6.5.2.2: width / 3.92, on the log scale for
  ratios), with tau^2, I^2 and the 95% prediction interval (Handbook 10.10.4.3: t with k-2 degrees of freedom).
  One effect per trial: two reports of one trial never enter the same pool; a retracted or withdrawn study never
  enters one.

Example:

    >>> pooled = pool_effects("smd", [(0.5, (0.1, 0.9)), (0.8, (0.2, 1.4)), (1.2, (0.76, 1.64))])
    >>> round(pooled.estimate, 2), [round(x, 2) for x in pooled.ci], round(pooled.tau2, 3), round(pooled.i2)
    (0.83, [0.38, 1.27], 0.096, 62)
    >>> [round(x, 1) for x in pooled.prediction]  # with three trials, t has one degree of freedom: very wide
    [-4.1, 5.7]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from kb.model import CERTAINTY_ORDER, RATIO_METRICS, SMD_METRICS, WITHDRAWN_NOTICES, Finding, Study

MIN_POOLED = 3
CI_WIDTH_IN_SE = 3.92  # a 95% CI spans 2 x 1.96 standard errors (Cochrane Handbook 6.5.2.2)
# Reviews and pooled analyses report trials that have (or could have) entries of their own: they add no
# participants, are no trial of their own, and never enter a pool (their trials would count twice).
REVIEW_DESIGNS = ("systematic-review",)
POOLING_METHOD = "DerSimonian-Laird random effects, 95% CI and prediction interval (exploratory)"


def metric_family(metric: str) -> str:
    """Effects that can share an axis and a pool: every standardised mean difference is 'smd'; each ratio and
    every other metric stands alone."""
    return "smd" if metric in SMD_METRICS else metric


# --- trials ----------------------------------------------------------------------------------------------------


@dataclass
class Trials:
    """Which reports belong to the same trial, and the reports of each trial."""

    trial_of: dict[str, str]  # study id -> trial key (the id of one of its reports, stable across runs)
    secondary: set[str]  # ids whose design.parent names an entry of the knowledge base
    children: dict[str, list[str]] = field(default_factory=dict)  # parent id -> ids naming it as parent

    def participants(self, studies: Iterable[Study]) -> Participation:
        """Unique participants of `studies`: each trial once, by the largest n among its primary reports in the
        set (a secondary analysis or follow-up adds none), or among its secondary ones if no primary is there."""
        by_trial: dict[str, list[Study]] = {}
        for study in studies:
            if study.design.type in REVIEW_DESIGNS:
                continue
            by_trial.setdefault(self.trial_of.get(study.id, study.id), []).append(study)
        total = unsized = 0
        for reports in by_trial.values():
            primary = [s for s in reports if s.id not in self.secondary] or reports
            sizes = [s.sample.n for s in primary if s.sample.n is not None]
            total += max(sizes, default=0)
            unsized += not sizes
        return Participation(total, len(by_trial), unsized)


@dataclass(frozen=True)
class Participation:
    participants: int
    trials: int
    unsized: int = 0  # trials whose reports give no n

    @property
    def text(self) -> str:
        """'172 participants in 2 trials', and how many trials report no size.

        >>> Participation(172, 3, 1).text
        '172 participants in 3 trials (1 without a reported size)'
        """
        trials = f"{self.trials:,} trial{'' if self.trials == 1 else 's'}"
        if not self.trials:
            return "no trial of its own (reviews and pooled analyses only)"
        if self.unsized == self.trials:
            return f"{trials}, size not reported"
        people = f"{self.participants:,} participant{'' if self.participants == 1 else 's'}"
        return f"{people} in {trials}" + (f" ({self.unsized:,} without a reported size)" if self.unsized else "")


def group_trials(studies: Iterable[Study], parent_of: dict[str, str]) -> Trials:
    """Join reports into trials: a study and the entry its `design.parent` names (`parent_of`, ids only), and
    studies sharing a registration id (compared without case or spaces)."""
    studies = list(studies)
    known = {s.id for s in studies}
    leader = {s.id: s.id for s in studies}

    def find(item: str) -> str:
        while leader[item] != item:
            leader[item] = leader[leader[item]]
            item = leader[item]
        return item

    def join(a: str, b: str) -> None:
        first, second = sorted((find(a), find(b)))
        leader[second] = first

    first_with: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    for study in studies:
        parent = parent_of.get(study.id)
        if parent in known and parent != study.id:
            join(study.id, parent)
            children.setdefault(parent, []).append(study.id)
        for registration in study.design.registration:
            key = "".join(registration.upper().split())
            join(study.id, first_with.setdefault(key, study.id))
    secondary = {child for ids in children.values() for child in ids}
    return Trials({s.id: find(s.id) for s in studies}, secondary, children)


# --- pooling ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pooled:
    metric: str  # "smd", or the ratio's name
    studies: list[str]  # the ids of exactly the trials' reports that entered the pool
    estimate: float
    ci: tuple[float, float]
    tau2: float  # between-study variance, on the analysis scale (log for ratios)
    i2: float  # percent
    prediction: tuple[float, float] | None  # 95% prediction interval (needs k >= 3)
    method: str = POOLING_METHOD

    @property
    def k(self) -> int:
        return len(self.studies)


def pool_effects(metric: str, effects: list[tuple[float, tuple[float, float]]], ids: list[str] | None = None) -> Pooled:
    """DerSimonian-Laird random-effects pool of (value, 95% CI) pairs of one metric family (statsmodels'
    `combine_effects`); ratios are pooled as logs and reported back on their own scale."""
    import numpy as np  # statsmodels brings numpy and scipy; imported only when something is pooled
    from scipy import stats
    from statsmodels.stats.meta_analysis import combine_effects

    log = metric in RATIO_METRICS
    scale = math.log if log else float
    values = np.array([scale(value) for value, _ in effects])
    errors = np.array([(scale(high) - scale(low)) / CI_WIDTH_IN_SE for _, (low, high) in effects])
    with np.errstate(divide="ignore", invalid="ignore"):  # identical effects: Q = 0, so I^2 is 0 (set below)
        result = combine_effects(values, errors**2, method_re="dl", use_t=False)
    tau2 = float(result.tau2)
    if tau2 > 0:
        mean, se = float(result.mean_effect_re), float(result.sd_eff_w_re)
    else:  # statsmodels leaves DL's tau^2 negative when Q < k - 1; DerSimonian & Laird truncate it at 0, and a
        tau2 = 0.0  # random-effects model with no between-study variance is the fixed-effect one
        mean, se = float(result.mean_effect_fe), float(result.sd_eff_w_fe)
    z = stats.norm.ppf(0.975)
    k = len(effects)
    prediction = None
    if k >= 3:
        half = stats.t.ppf(0.975, k - 2) * math.sqrt(tau2 + se**2)
        prediction = (mean - half, mean + half)
    back = math.exp if log else float
    return Pooled(
        metric=metric_family(metric),
        studies=list(ids or []),
        estimate=back(mean),
        ci=(back(mean - z * se), back(mean + z * se)),
        tau2=tau2,
        i2=max(0.0, float(result.i2)) * 100 if result.q > 0 else 0.0,
        prediction=(back(prediction[0]), back(prediction[1])) if prediction else None,
    )


# --- outcome groups --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectRow:
    """One study's effect on one outcome."""

    study: Study
    finding: Finding

    @property
    def metric(self) -> str:
        return self.finding.effect.metric

    @property
    def poolable(self) -> bool:
        """An SMD or a ratio with its 95% CI, from a study that is not retracted or withdrawn."""
        family, ci = metric_family(self.metric), self.finding.effect.ci
        if family != "smd" and family not in RATIO_METRICS or ci is None or not ci[0] < ci[1]:
            return False
        if self.study.design.type in REVIEW_DESIGNS or any(n.type in WITHDRAWN_NOTICES for n in self.study.notices):
            return False
        return family == "smd" or ci[0] > 0  # an interval of zero width, or a ratio's down to 0, has no SE


@dataclass(frozen=True)
class OutcomeGroup:
    """A row of the summary-of-findings table: one outcome domain under one comparison."""

    domain: str
    comparison: str | None  # None when none of its findings reports an effect with a comparison
    findings: list[tuple[Study, Finding]]
    effects: list[EffectRow]
    pooled: list[Pooled]
    studies: list[Study]  # each reporting study once, in the order of its first finding
    participation: Participation
    directions: Counter
    best_certainty: str

    def effects_of(self, family: str) -> list[EffectRow]:
        return [row for row in self.effects if metric_family(row.metric) == family]

    @property
    def families(self) -> list[str]:
        return list(dict.fromkeys(metric_family(row.metric) for row in self.effects))

    def pooled_for(self, family: str) -> Pooled | None:
        return next((p for p in self.pooled if p.metric == family), None)


def outcome_groups(studies: Iterable[Study], trials: Trials) -> list[OutcomeGroup]:
    """Every (domain, comparison) the studies report on, in order of how many studies report it."""
    findings: dict[tuple[str, str | None], list[tuple[Study, Finding]]] = {}
    for study in studies:
        for finding in study.findings:
            if finding.domain:
                comparison = finding.effect.comparison if finding.effect else None
                findings.setdefault((finding.domain, comparison), []).append((study, finding))
    groups = [_group(domain, comparison, items, trials) for (domain, comparison), items in findings.items()]
    groups.sort(key=lambda g: (-len(g.studies), g.domain, g.comparison or "~"))
    return groups


def _group(domain: str, comparison: str | None, items: list[tuple[Study, Finding]], trials: Trials) -> OutcomeGroup:
    effects = [EffectRow(study, finding) for study, finding in items if finding.effect is not None]
    studies = list({s.id: s for s, _ in items}.values())
    certainties = [s.evidence.certainty for s in studies]
    return OutcomeGroup(
        domain=domain,
        comparison=comparison,
        findings=items,
        effects=effects,
        pooled=_pools(effects, trials) if comparison is not None else [],
        studies=studies,
        participation=trials.participants(studies),
        directions=Counter(f.direction for _, f in items),
        best_certainty=min(certainties, key=CERTAINTY_ORDER.index),
    )


def _pools(effects: list[EffectRow], trials: Trials) -> list[Pooled]:
    """A pool per metric family with at least MIN_POOLED independent trials; one effect per trial."""
    pools = []
    for family in dict.fromkeys(metric_family(row.metric) for row in effects if row.poolable):
        chosen = _one_per_trial(
            [row for row in effects if row.poolable and metric_family(row.metric) == family], trials
        )
        if len(chosen) >= MIN_POOLED:
            pairs = [(row.finding.effect.value, row.finding.effect.ci) for row in chosen]
            pools.append(pool_effects(chosen[0].metric, pairs, [row.study.id for row in chosen]))
    return pools


def _one_per_trial(rows: list[EffectRow], trials: Trials) -> list[EffectRow]:
    """For each trial, the effect of its primary report (not a secondary analysis or follow-up), then of the
    main finding, then of the largest sample; the first listed wins a tie."""
    best: dict[str, EffectRow] = {}
    for row in rows:
        trial = trials.trial_of.get(row.study.id, row.study.id)
        if trial not in best or _preference(row, trials) > _preference(best[trial], trials):
            best[trial] = row
    return list(best.values())


def _preference(row: EffectRow, trials: Trials) -> tuple:
    return (row.study.id not in trials.secondary, row.finding.main, row.study.sample.n or 0)


def consistency(directions: Counter) -> str:
    """How consistent the findings' directions are, in words (a study may report several findings).

    >>> consistency(Counter({"improved": 2, "no-difference": 1}))
    '2 of 3 findings improved'
    >>> consistency(Counter({"no-difference": 1}))
    '1 finding: no-difference'
    """
    total = sum(directions.values())
    direction, count = directions.most_common(1)[0]
    if total == 1:
        return f"1 finding: {direction}"
    if count == total:
        return f"all {total} findings {direction}"
    return f"{count} of {total} findings {direction}"
