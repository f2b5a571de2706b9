"""The synthesis on the built site: the fictional trials of tests/fixtures/site/zz-synth-* (trial A and its
follow-up, trial B in two reports sharing a registration id, trial C), all tagged healthy-volunteers and
ketamine, reporting well-being against placebo and within-group. Expected figures are worked out here from the
rules, not from the code's constants."""

from __future__ import annotations

import json
import math
import re

import pytest
from site_support import article, built_site, page, text_of
from test_synthesis import dersimonian_laird

pytestmark = pytest.mark.slow

POOLED = {  # trial -> the report whose effect must enter the pool, and its (value, CI)
    "A": ("zz-synth-2020-trial-a", 0.8, (0.2, 1.4)),  # the parent, not its follow-up
    "B": ("zz-synth-2021-trial-b", 0.5, (0.1, 0.9)),  # the larger report (60 > 58) of the registered trial
    "C": ("zz-synth-2022-trial-c", 1.2, (0.4, 2.0)),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return built_site(tmp_path_factory)


@pytest.fixture(scope="module")
def synthesis(site):
    return json.loads((site.site_dir / "downloads" / "synthesis.json").read_text("utf-8"))


def test_synthesis_json_pools_each_trial_once(synthesis):
    groups = [g for g in synthesis if (g["facet"], g["term"]) == ("conditions", "healthy-volunteers")]
    placebo = [g for g in groups if g["domain"] == "wellbeing" and g["comparison"] == "placebo"]
    assert len(placebo) == 1
    (pooled,) = placebo
    assert set(pooled) == {
        "facet", "term", "domain", "comparison", "metric", "k", "studies", "estimate", "ci", "tau2", "i2",
        "prediction", "method",
    }  # fmt: skip
    assert pooled["metric"] == "smd" and pooled["k"] == 3
    assert sorted(pooled["studies"]) == sorted(study for study, _, _ in POOLED.values())
    expected = dersimonian_laird(
        [v for _, v, _ in POOLED.values()], [(hi - lo) / 3.92 for _, _, (lo, hi) in POOLED.values()]
    )
    assert pooled["estimate"] == pytest.approx(expected["mean"], abs=1e-9)
    assert pooled["ci"] == pytest.approx(list(expected["ci"]), abs=1e-9)
    assert pooled["tau2"] == pytest.approx(expected["tau2"], abs=1e-9)
    assert pooled["i2"] == pytest.approx(expected["i2"], abs=1e-9)
    assert pooled["prediction"] == pytest.approx(list(expected["prediction"]), abs=1e-6)
    assert "DerSimonian-Laird" in pooled["method"]


def test_within_group_effects_form_their_own_group_and_are_not_pooled_across_reports(synthesis):
    (within,) = [
        g
        for g in synthesis
        if (g["facet"], g["term"], g["domain"], g["comparison"])
        == ("substances", "ketamine", "wellbeing", "within-group")
    ]
    # all five reports give a within-group d of 1.5: three trials, so a pool of three, never of five
    assert within["k"] == 3 and len(within["studies"]) == 3
    assert within["estimate"] == pytest.approx(1.5)
    for group in synthesis:
        if group["estimate"] is None:
            assert group["ci"] is group["tau2"] is group["i2"] is group["prediction"] is group["method"] is None
        else:
            assert all(math.isfinite(x) for x in [group["estimate"], *group["ci"], group["tau2"], group["i2"]])


def test_term_page_counts_each_trial_once_and_shows_the_summary_of_findings(site):
    content = article(page(site, "conditions/healthy-volunteers"))
    text = text_of(content)
    # trials: A (40; its follow-up adds no one), B (60, the larger report), C (30), plus real studies, if any
    match = re.search(r"([\d,]+) participants in (\d+) trials", text)
    assert match, text[:500]
    assert 'id="synthesis"' in content and "Summary of findings" in content
    sof = re.search(r'<div class="kb-table-wrapper kb-sof".*?</table>', content, re.S).group(0)
    row = next(r for r in re.findall(r"<tr>.*?</tr>", sof, re.S) if "vs placebo" in r and "Well-being" in r)
    cells = [text_of(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells[2] == "5"  # five reports
    assert cells[3] == "130 participants in 3 trials"  # 40 + 60 + 30
    assert cells[4].startswith("Pooled ") and "(3 trials, exploratory)" in cells[4]
    assert cells[5] == "all 5 findings improved"
    assert "Moderate" in cells[6]


def test_forest_plot_has_a_row_per_effect_and_a_pooled_diamond(site):
    content = article(page(site, "conditions/healthy-volunteers"))
    section = content[content.index('id="outcome-wellbeing-placebo"') :]
    svg = re.search(r"<svg.*?</svg>", section, re.S).group(0)
    assert len(re.findall(r'class="kb-forest__point"', svg)) == 5
    assert len(re.findall(r'class="kb-forest__pooled"', svg)) == 1
    assert "Pooled, 3 trials (exploratory)" in svg
    assert "…" not in svg  # labels wrap, they are not cut short


def test_parent_and_children_link_both_ways(site):
    parent = article(page(site, "studies/zz-synth-2020-trial-a"))
    child = article(page(site, "studies/zz-synth-2021-trial-a-follow-up"))
    follow_ups = re.search(r'id="follow-ups".*?</ul>', parent, re.S).group(0)
    assert 'href="../../studies/zz-synth-2021-trial-a-follow-up/"' in follow_ups
    design = re.search(r'<div class="kb-table-wrapper kb-design"[^>]*>.*?</table>', child, re.S).group(0)
    assert re.search(r'<th scope="row">Parent trial</th><td><a href="../../studies/zz-synth-2020-trial-a/">', design)
    assert 'id="follow-ups"' not in child


def test_every_study_page_has_a_safety_section_and_substance_pages_gather_harms(site):
    for path in (site.site_dir / "studies").glob("*/index.html"):
        assert 'id="safety"' in path.read_text("utf-8"), path
    trial_a = text_of(article(page(site, "studies/zz-synth-2020-trial-a")))
    assert "Serious adverse events: Drug 1 of 20; Placebo 0 of 20." in trial_a
    assert "Stopped because of adverse events: Drug 2 of 20; Placebo 1 of 20." in trial_a
    assert "Most common adverse events: headache, nausea." in trial_a
    no_data = text_of(article(page(site, "studies/zz-synth-2022-trial-c")))
    assert "records no harms data" in no_data
    ketamine = article(page(site, "substances/ketamine"))
    harms = ketamine[ketamine.index('id="reported-harms"') :]
    assert "Made-up harms of trial A." in harms and "Drug 1 of 20" in harms


def test_home_page_and_matrix_count_trials(site):
    home = text_of(article(page(site, "")))
    assert re.search(
        r"[\d,]+ participants in \d+ trials( \(\d+ without a reported size\))? \(each trial counted once", home
    )
    matrix = article(page(site, "evidence"))
    cell = re.search(
        r'<a href="../studies/\?substances=ketamine&amp;conditions=healthy-volunteers".*?</a>', matrix, re.S
    )
    assert cell and "130 participants in 3 trials" in text_of(cell.group(0))
