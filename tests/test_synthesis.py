"""The synthesis stage (kb/synthesis.py): pooling arithmetic against an independent computation, and the rules
that keep a trial from counting twice (participants) or entering a pool twice (parent/child, registration)."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from kb.model import study_from_dict
from kb.synthesis import Trials, group_trials, outcome_groups, pool_effects

Z = NormalDist().inv_cdf(0.975)
T_975 = {1: 12.7062047361747, 2: 4.30265272974946, 3: 3.18244630528371, 4: 2.77644510519779}  # t tables


def dersimonian_laird(values: list[float], ses: list[float]) -> dict:
    """The method of moments as written in DerSimonian & Laird (1986) and the Cochrane Handbook (10.10.4),
    by hand: no library shared with the code under test."""
    w = [1 / se**2 for se in ses]
    fixed = sum(wi * yi for wi, yi in zip(w, values, strict=True)) / sum(w)
    q = sum(wi * (yi - fixed) ** 2 for wi, yi in zip(w, values, strict=True))
    df = len(values) - 1
    c = sum(w) - sum(wi**2 for wi in w) / sum(w)
    tau2 = max(0.0, (q - df) / c)
    w_star = [1 / (se**2 + tau2) for se in ses]
    mean = sum(wi * yi for wi, yi in zip(w_star, values, strict=True)) / sum(w_star)
    se = math.sqrt(1 / sum(w_star))
    half = T_975[len(values) - 2] * math.sqrt(tau2 + se**2)
    return {
        "mean": mean,
        "ci": (mean - Z * se, mean + Z * se),
        "tau2": tau2,
        "i2": max(0.0, (q - df) / q) * 100 if q > 0 else 0.0,
        "prediction": (mean - half, mean + half),
    }


EFFECTS = [(0.5, (0.1, 0.9)), (0.8, (0.2, 1.4)), (1.2, (0.76, 1.64)), (0.3, (-0.2, 0.8))]
SIMILAR = [(0.5, (0.1, 0.9)), (0.52, (0.12, 0.92)), (0.51, (0.11, 0.91))]  # Q < k - 1: tau^2 truncated at 0


@pytest.mark.parametrize("effects", [EFFECTS[:3], EFFECTS, SIMILAR], ids=["k=3", "k=4", "Q<df"])
def test_smd_pool_matches_an_independent_dersimonian_laird(effects):
    k = len(effects)
    expected = dersimonian_laird([v for v, _ in effects], [(hi - lo) / 3.92 for _, (lo, hi) in effects])
    pooled = pool_effects("cohen_d", effects, [f"s{i}" for i in range(k)])
    assert pooled.metric == "smd" and pooled.k == k
    assert pooled.estimate == pytest.approx(expected["mean"], abs=1e-9)
    assert pooled.ci == pytest.approx(expected["ci"], abs=1e-9)
    assert pooled.tau2 == pytest.approx(expected["tau2"], abs=1e-9)
    assert pooled.i2 == pytest.approx(expected["i2"], abs=1e-9)
    assert pooled.prediction == pytest.approx(expected["prediction"], abs=1e-6)
    assert pooled.prediction[0] < pooled.ci[0] < pooled.estimate < pooled.ci[1] < pooled.prediction[1]


def test_ratios_pool_on_the_log_scale_and_come_back_as_ratios():
    effects = [(2.0, (1.0, 4.0)), (3.0, (1.5, 6.0)), (1.5, (0.8, 2.8))]
    logs = [math.log(v) for v, _ in effects]
    ses = [(math.log(hi) - math.log(lo)) / 3.92 for _, (lo, hi) in effects]
    expected = dersimonian_laird(logs, ses)
    pooled = pool_effects("odds_ratio", effects)
    assert pooled.metric == "odds_ratio"
    assert pooled.estimate == pytest.approx(math.exp(expected["mean"]), rel=1e-9)
    assert pooled.ci == pytest.approx(tuple(map(math.exp, expected["ci"])), rel=1e-9)
    assert pooled.tau2 == pytest.approx(expected["tau2"], abs=1e-12)  # on the log scale


def test_homogeneous_effects_give_no_heterogeneity():
    pooled = pool_effects("smd", [(0.5, (0.1, 0.9))] * 3)
    assert pooled.tau2 == 0 and pooled.i2 == 0 and pooled.estimate == pytest.approx(0.5)


# --- studies built for the rules ---------------------------------------------------------------------------


def study(study_id, n, effects=(), parent=None, registration=(), certainty="low", notices=(), design_type="rct"):
    findings = [
        {
            "outcome": "Outcome",
            "domain": domain,
            "direction": "improved",
            "summary": "s",
            **(
                {"effect": {"metric": metric, "value": value, "ci": list(ci), "comparison": comparison}}
                if metric
                else {}
            ),
        }
        for domain, comparison, metric, value, ci in effects
    ] or [{"outcome": "Outcome", "direction": "improved", "summary": "s"}]
    design = {"type": design_type, "registration": list(registration)}
    if parent:
        design["parent"] = parent
    return study_from_dict(
        {
            "id": study_id,
            "title": study_id,
            "headline": study_id,
            "citation": {"type": "report", "authors": [{"family": study_id.title()}], "year": 2020},
            "design": design,
            "sample": {"n": n},
            "findings": findings,
            "substances": ["mdma"],
            "conditions": ["ptsd"],
            "summary": {"background": "b", "overview": "o", "conclusions": "c"},
            "evidence": {"certainty": certainty, "rationale": "r"},
            "record": {"added": "2026-01-01"},
            "notices": [{"type": kind} for kind in notices],
        }
    )


def trials_of(studies) -> Trials:
    return group_trials(studies, {s.id: s.design.parent for s in studies if s.design.parent})


def smd(value, comparison="placebo", domain="ptsd-severity"):
    return (domain, comparison, "cohen_d", value, (value - 0.4, value + 0.4))


def test_a_child_adds_no_participants_and_shared_registrations_count_once():
    parent, child = study("parent", 90), study("child", 82, parent="parent")
    first, second = study("first", 60, registration=["NCT0001"]), study("second", 70, registration=["nct 0001"])
    trials = trials_of([parent, child, first, second])
    assert trials.participants([parent, child]).text == "90 participants in 1 trial"
    assert trials.participants([child]).participants == 82  # alone on a page, the report stands for its trial
    assert trials.participants([first, second]).participants == 70  # the largest n of one trial
    assert trials.participants([parent, child, first, second]).text == "160 participants in 2 trials"
    assert trials.children == {"parent": ["child"]}


def test_a_pooled_analysis_adds_no_participants_and_enters_no_pool():
    trials = [study(name, 20, [smd(0.6)]) for name in ("a", "b")]
    review = study("review", 103, [smd(0.8)], design_type="systematic-review")
    studies = [*trials, review, study("c", 10, [smd(0.4)])]
    assert trials_of(studies).participants(studies).text == "50 participants in 3 trials"
    (group,) = outcome_groups(studies, trials_of(studies))
    assert sorted(group.pooled[0].studies) == ["a", "b", "c"]


def test_fewer_than_three_trials_are_not_pooled():
    studies = [study("a", 10, [smd(0.5)]), study("b", 10, [smd(0.7)])]
    (group,) = outcome_groups(studies, trials_of(studies))
    assert group.pooled == [] and len(group.effects) == 2


def test_a_parent_and_its_child_never_enter_one_pool():
    studies = [study("a", 10, [smd(0.5)]), study("a-follow-up", 10, [smd(0.9)], parent="a"), study("b", 10, [smd(0.7)])]
    (group,) = outcome_groups(studies, trials_of(studies))
    assert group.pooled == []  # three reports, two trials
    studies.append(study("c", 10, [smd(1.1)]))
    (group,) = outcome_groups(studies, trials_of(studies))
    (pooled,) = group.pooled
    assert sorted(pooled.studies) == ["a", "b", "c"]  # the parent's own effect, not the follow-up's
    assert pooled.estimate == pytest.approx(
        pool_effects("smd", [(0.5, (0.1, 0.9)), (0.7, (0.3, 1.1)), (1.1, (0.7, 1.5))]).estimate
    )


def test_reports_sharing_a_registration_enter_a_pool_once():
    studies = [
        study("x1", 50, [smd(0.5)], registration=["ISRCTN1"]),
        study("x2", 80, [smd(0.9)], registration=["ISRCTN1"]),
        study("y", 10, [smd(0.7)]),
    ]
    (group,) = outcome_groups(studies, trials_of(studies))
    assert group.pooled == []
    studies.append(study("z", 10, [smd(0.2)]))
    (group,) = outcome_groups(studies, trials_of(studies))
    assert sorted(group.pooled[0].studies) == ["x2", "y", "z"]  # the larger report of the shared trial


def test_within_group_effects_are_never_pooled_with_between_group_ones():
    studies = [
        study("a", 10, [smd(0.5)]),
        study("b", 10, [smd(0.7)]),
        study("c", 10, [smd(1.4, comparison="within-group")]),
    ]
    groups = outcome_groups(studies, trials_of(studies))
    assert {(g.comparison, len(g.effects)) for g in groups} == {("placebo", 2), ("within-group", 1)}
    assert all(g.pooled == [] for g in groups)


def test_different_metrics_and_retracted_studies_stay_out_of_a_pool():
    ratio = ("ptsd-severity", "placebo", "odds_ratio", 2.0, (1.0, 4.0))
    studies = [
        study("a", 10, [smd(0.5)]),
        study("b", 10, [smd(0.7)]),
        study("c", 10, [ratio]),
        study("d", 10, [smd(0.9)], notices=["retraction"]),
    ]
    (group,) = outcome_groups(studies, trials_of(studies))
    assert group.pooled == [] and group.families == ["smd", "odds_ratio"]
    studies += [study("e", 10, [smd(0.3)]), study("f", 10, [ratio]), study("g", 10, [ratio])]
    (group,) = outcome_groups(studies, trials_of(studies))
    assert {p.metric: sorted(p.studies) for p in group.pooled} == {
        "smd": ["a", "b", "e"],
        "odds_ratio": ["c", "f", "g"],
    }


def test_groups_report_consistency_and_the_best_certainty():
    studies = [
        study("a", 10, [smd(0.5)], certainty="very-low"),
        study("b", 10, [smd(0.7)], certainty="moderate"),
        study("c", 10, [("ptsd-severity", "placebo", None, None, None)], certainty="low"),
    ]
    studies[2] = study("c", 10, [], certainty="low")  # a finding without domain is not part of any group
    (group,) = outcome_groups(studies, trials_of(studies))
    assert group.best_certainty == "moderate" and group.directions == {"improved": 2}
