"""The site's building blocks without MkDocs: linking, forest plot geometry, escaping filters, file writing."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest
import yaml

from kb.link import COMMON_TAG_WINDOW, link_studies
from kb.model import Effect, Finding, study_from_dict
from kb.render import indexes
from kb.render.output import DocsWriter, Output, write_outputs
from kb.render.plot import forest_plots
from kb.render.study import json_ld
from kb.render.templating import front_matter, make_environment, oneline, paragraphs
from kb.vocabulary import vocabulary_from_dict


def make_study(study_id: str, year: int = 2020, related=(), **tags) -> object:
    return study_from_dict(
        {
            "id": study_id,
            "title": f"Title of {study_id}",
            "headline": f"Headline of {study_id}",
            "citation": {"type": "article", "authors": [{"family": "Roy", "given": "Ann"}], "year": year},
            "design": {"type": tags.get("design", "randomized-controlled-trial")},
            "findings": [{"outcome": "o", "direction": "improved", "summary": "s"}],
            "mechanisms": tags.get("mechanisms", []),
            "substances": tags.get("substances", ["psilocybin"]),
            "conditions": tags.get("conditions", ["depression"]),
            "summary": {"background": "b", "overview": "o", "conclusions": "c"},
            "evidence": {"certainty": "low", "rationale": "r"},
            "record": {"added": "2026-01-01"},
            "related": list(related),
        }
    )


# --- link ----------------------------------------------------------------------------------------------------


def test_rare_shared_tags_outrank_common_ones():
    studies = [make_study(f"common-{i}") for i in range(20)]
    studies.append(make_study("a", mechanisms=["self-compassion"]))
    studies.append(make_study("b", mechanisms=["self-compassion"]))
    links = link_studies(studies)
    assert links.related_to("a")[0].study.id == "b"
    assert links.related_to("a")[0].shared[0] == ("mechanisms", "self-compassion")  # rarest first


def test_explicit_related_ids_count_both_ways_and_come_first():
    studies = [
        make_study("a", related=["c"]),
        make_study("b"),
        make_study("c", substances=["mdma"], conditions=["ptsd"]),
    ]
    links = link_studies(studies)
    assert [r.study.id for r in links.related_to("a")][:1] == ["c"] and links.related_to("a")[0].explicit
    assert [r.study.id for r in links.related_to("c")] == ["a"]  # c shares no topic with anyone; only the link
    assert links.related_to("b")[0].study.id == "a" and not links.related_to("b")[0].explicit


def test_sharing_only_a_design_or_setting_does_not_make_studies_related():
    studies = [
        make_study("a", substances=["mdma"], conditions=["ptsd"]),
        make_study("b", substances=["lsd"], conditions=["anxiety"]),
    ]
    links = link_studies(studies)
    assert links.related_to("a") == [] and links.related_to("b") == []


def test_a_very_common_tag_proposes_a_bounded_number_of_neighbours():
    studies = [make_study(f"s-{i:04d}", year=1950 + i % 70) for i in range(1000)]
    links = link_studies(studies, limit=6)
    assert all(len(links.related_to(study.id)) == 6 for study in links.studies)
    newest = links.studies[0]
    neighbours = {r.study.id for r in links.related_to(newest.id)}
    window = {s.id for s in links.studies[: COMMON_TAG_WINDOW + 1]}
    assert neighbours <= window  # taken from the studies closest in publication order


def test_posting_lists_are_newest_first_and_complete():
    studies = [make_study("old", year=2001), make_study("new", year=2024), make_study("undated", year=None)]
    links = link_studies(studies)
    assert [s.id for s in links.studies_with("substances", "psilocybin")] == ["new", "old", "undated"]
    assert links.terms_in_use("designs") == ["randomized-controlled-trial"]


# --- forest plots --------------------------------------------------------------------------------------------


def finding(metric: str, value: float, ci, outcome: str = "Outcome") -> Finding:
    return Finding(outcome, "improved", "s", effect=Effect(metric, value, ci))


def test_ratio_metrics_are_plotted_on_a_log_scale_around_one():
    (plot,) = forest_plots([finding("odds_ratio", 2.0, (1.0, 4.0)), finding("odds_ratio", 0.5, (0.25, 1.0))])
    assert plot.log_scale
    first, second = plot.rows
    assert first.x_low == pytest.approx(plot.null_x) and second.x_high == pytest.approx(plot.null_x)
    assert first.x - plot.null_x == pytest.approx(plot.null_x - second.x, abs=0.2)  # 2 and 1/2 mirror around 1
    assert plot.plot_left <= min(second.x_low, first.x_low) and max(first.x_high, second.x_high) <= plot.plot_right


def test_linear_metrics_get_round_ticks_that_cover_every_interval():
    (plot,) = forest_plots([finding("cohen_d", 0.91, (0.52, 1.3)), finding("cohen_d", -0.2, (-0.61, 0.21))])
    assert not plot.log_scale
    labels = [tick.label for tick in plot.ticks]
    assert "0" in labels and all(float(a) < float(b) for a, b in zip(labels, labels[1:], strict=False))
    assert plot.ticks[0].x == plot.plot_left and plot.ticks[-1].x == plot.plot_right
    assert all(plot.plot_left <= row.x_low <= row.x <= row.x_high <= plot.plot_right for row in plot.rows)


def test_only_effects_with_intervals_are_plotted_one_plot_per_metric():
    findings = [
        finding("cohen_d", 0.5, None),
        finding("hedges_g", 0.3, (0.1, 0.5)),
        finding("risk_ratio", 1.5, (1.1, 2.0)),
        Finding("No effect recorded", "mixed", "s"),
    ]
    assert [plot.metric for plot in forest_plots(findings)] == ["hedges_g", "risk_ratio"]


def test_long_outcome_labels_wrap_onto_a_second_line_and_only_longer_ones_are_shortened():
    (plot,) = forest_plots([finding("smd", 0.2, (0.1, 0.3), outcome="A very long outcome name " * 4)])
    lines = [line.text for line in plot.rows[0].lines]
    assert len(lines) == 2 and all(len(line) <= 54 for line in lines) and not lines[-1].endswith("…")
    assert " ".join(lines) == ("A very long outcome name " * 4).strip()  # nothing cut
    assert lines[1].startswith("very long")  # lines break between words
    (plot,) = forest_plots([finding("smd", 0.2, (0.1, 0.3), outcome="A very long outcome name " * 8)])
    assert len(plot.rows[0].lines) == 2 and plot.rows[0].lines[-1].text.endswith("…")
    assert plot.rows[0].full_label.startswith("A very long outcome name A very")  # whole in the tooltip
    assert plot.rows[0].lines[1].y > plot.rows[0].lines[0].y


# --- escaping ------------------------------------------------------------------------------------------------


def test_paragraphs_escape_and_keep_entry_text_off_the_start_of_lines():
    text = 'First <b>line</b>\n--8<-- "secret.txt"\n\n```\ncode\n```'
    rendered = str(paragraphs(text))
    assert rendered == ("<p>First &lt;b&gt;line&lt;/b&gt; --8&lt;-- &#34;secret.txt&#34;</p>\n<p>``` code ```</p>")
    assert all(line.startswith("<p>") for line in rendered.splitlines())
    assert str(oneline("a\n  b <script>")) == "a b &lt;script&gt;"


def test_front_matter_escapes_what_material_prints_raw_and_round_trips():
    block = str(front_matter({"title": 'A <script> "x"\n---\nb', "tags": ["MDMA"], "jsonld": "{}"}))
    assert block.startswith("---\n") and block.endswith("---\n")
    data = yaml.safe_load(block.strip("-\n"))
    assert data["title"] == "A &lt;script&gt; &#34;x&#34; --- b"
    assert data["tags"] == ["MDMA"] and data["jsonld"] == "{}"
    assert "\n---\n" not in block[4:-4]  # no line of the value can end the front matter early


def test_json_ld_cannot_close_its_script_element():
    vocabulary = vocabulary_from_dict({"substances": {"terms": {"psilocybin": {"label": "Psilocybin"}}}})
    study = make_study("x")
    title = "</script><script>alert(1)</script> & more"
    study = dataclasses.replace(study, title=title, citation=dataclasses.replace(study.citation, title=title))
    text = json_ld(study, vocabulary)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["about"]["name"] == "</script><script>alert(1)</script> & more"  # the paper's title


# --- writing -------------------------------------------------------------------------------------------------


def test_write_outputs_writes_only_changes_and_removes_stale_files(tmp_path):
    docs = tmp_path / "docs"
    (docs / "about.md").parent.mkdir(parents=True)
    (docs / "about.md").write_text("hand-written")
    first = write_outputs(docs, [Output("studies/a.md", b"A"), Output("studies/b.md", b"B"), Output("feed.xml", b"F")])
    assert sorted(first.written) == ["feed.xml", "studies/a.md", "studies/b.md"]
    second = write_outputs(
        docs, [Output("studies/a.md", b"A"), Output("studies/b.md", b"B2"), Output("feed.xml", b"F")]
    )
    assert second.written == ["studies/b.md"] and second.unchanged == 2 and second.removed == []
    third = write_outputs(docs, [Output("studies/a.md", b"A")])
    assert third.removed == ["feed.xml", "studies/b.md"]
    assert (docs / "about.md").read_text() == "hand-written"  # only generated folders are cleaned
    assert not list(docs.rglob("*.tmp"))


def test_a_generated_folder_docs_lacks_appears_only_when_the_run_finishes(tmp_path):
    docs = tmp_path / "docs"
    (docs / "studies").mkdir(parents=True)  # exists: written in place; downloads/ does not: staged
    writer = DocsWriter.open(docs)
    done = writer.write([Output("studies/a.md", b"A"), Output("downloads/references.bib", b"@article{a}")])
    assert (docs / "studies" / "a.md").read_bytes() == b"A"
    assert not (docs / "downloads").exists()  # nobody sees a half-made folder
    report = writer.finish(done)
    assert (docs / "downloads" / "references.bib").read_bytes() == b"@article{a}"
    assert sorted(report.written) == ["downloads/references.bib", "studies/a.md"]
    assert sorted(path.name for path in docs.iterdir()) == ["downloads", "studies"]  # the staging folder is gone


def test_a_failed_run_leaves_no_staged_folder_and_the_next_run_clears_a_killed_one(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    writer = DocsWriter.open(docs)
    writer.write([Output("downloads/references.bib", b"@article{a}")])
    writer.abandon()
    assert sorted(path.name for path in docs.iterdir()) == []
    killed = docs / ".kb-staging-99999999" / "studies"  # beyond the largest process id: its run is gone
    killed.mkdir(parents=True)
    (killed / "half.md").write_bytes(b"half")
    # A run still going on (kb serve beside kb build): a process of this test's own, so that no mutant of the check
    # (mutation testing) can signal a process the test did not start
    other_run = subprocess.Popen(["sleep", "60"])
    try:
        running = docs / f".kb-staging-{other_run.pid}" / "studies"
        running.mkdir(parents=True)
        write_outputs(docs, [Output("studies/a.md", b"A")])
    finally:
        other_run.kill()
        other_run.wait()
    left = sorted(path.relative_to(docs).as_posix() for path in docs.rglob("*"))
    assert left == [f".kb-staging-{other_run.pid}", f".kb-staging-{other_run.pid}/studies", "studies", "studies/a.md"]


def test_write_outputs_refuses_paths_outside_the_generated_folders(tmp_path):
    with pytest.raises(ValueError):
        write_outputs(tmp_path, [Output("about.md", b"overwritten")])


def test_front_matter_keeps_characters_yaml_reads_differently_from_json():
    value = "a\x85b\u2028c\u2029d\x7fe\x9f ü ✓"  # NEL and the separators are line breaks to YAML
    block = str(front_matter({"title": "t", "tags": [value], "tag_links": [[value, "x/"]]}))
    data = yaml.safe_load(block.strip("-\n"))
    assert data["tags"] == [value] and data["tag_links"] == [[value, "x/"]]
    assert len(block.splitlines()) == 5  # ---, three keys, ---


def test_front_matter_stays_valid_yaml_with_overlong_values_and_refuses_overlong_keys():
    label = "L" * 3000 + " [x](javascript:alert(1)) { onfocus=alert(2) }"
    block = str(front_matter({"title": label, "tags": [label], "tag_links": [[label, "x/"]], "jsonld": label}))
    data = yaml.safe_load(block.strip("-\n"))
    assert data["tags"] == [label] and data["tag_links"] == [[label, "x/"]] and data["jsonld"] == label
    with pytest.raises(ValueError, match="over 1024 characters"):
        front_matter({"tag_urls": {label: "x/"}})  # YAML would refuse this key, and MkDocs print the block


# --- evidence matrix -----------------------------------------------------------------------------------------


def test_the_evidence_matrix_keeps_the_most_studied_terms_and_counts_the_rest():
    limit = indexes.MATRIX_TERMS_LIMIT
    conditions = [f"condition-{i:02d}" for i in range(limit + 5)]
    studies = [
        make_study(f"s-{i}-{j}", conditions=[condition])
        for i, condition in enumerate(conditions)
        for j in range(1 + (i < limit))  # the first `limit` conditions have two studies, the rest one
    ]
    terms = {slug: {"label": slug.title()} for slug in conditions}
    vocabulary = vocabulary_from_dict(
        {"substances": {"terms": {"psilocybin": {"label": "Psilocybin"}}}, "conditions": {"terms": terms}}
    )
    links = link_studies(studies)
    matrix = indexes.evidence_matrix("substances", "conditions", links, vocabulary)
    assert [column.slug for column in matrix.columns] == conditions[:limit]
    assert (matrix.more_rows, matrix.more_columns) == (0, 5)
    cell = matrix.cells[0][0]
    assert (cell.count, cell.table_url) == (2, "studies/?substances=psilocybin&conditions=condition-00")


def test_remember_renders_a_macro_once_per_key_and_keeps_its_escaping(tmp_path):
    (tmp_path / "t.j2").write_text(
        '{% macro row(x) %}<b>{{ x }}</b>{{ calls.append(x) or "" }}{% endmacro %}'
        '{% for x in items %}{{ remember(row, "row-" ~ x, x) }}{% endfor %}'
    )
    calls = []
    output = make_environment(tmp_path).get_template("t.j2").render(items=["1", "<i>", "1", "<i>"], calls=calls)
    assert output == "<b>1</b><b>&lt;i&gt;</b><b>1</b><b>&lt;i&gt;</b>"
    assert calls == ["1", "<i>"]  # rendered once per key
