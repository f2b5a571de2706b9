"""`kb check-dois`: citation mismatches against Crossref, and retraction/correction notices.

Entries are made from the real recorded Crossref responses (through `kb new`'s own draft, so they start out
agreeing with Crossref) and then edited the way people get citations wrong.
"""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from doi_support import (
    DELPHI,
    ESMO,
    JOR,
    MICE,
    fixture_message,
    make_kb,
    run_kb,
    serve_message,
    serve_work,
)

from kb.doi.check import NoticeEditError, notice_mismatches, notices_of, with_notices
from kb.doi.crossref import citation_from_work
from kb.doi.draft import make_draft
from kb.doi.fetch import Work
from kb.doi_commands import check_dois
from kb.load import load_text


@pytest.fixture
def kb_root(tmp_path, monkeypatch):
    root = make_kb(tmp_path / "kb")
    monkeypatch.chdir(root)
    return root


def write_entry(root, doi: str, edit=None, name: str | None = None):
    """An entry whose citation is Crossref's (as `kb new` drafts it), optionally edited as text."""
    work = Work(doi, "crossref", fixture_message(doi))
    draft = make_draft(work, citation_from_work(work))
    text = edit(draft.text) if edit else draft.text
    path = root / "entries" / f"{name or draft.id}.yaml"
    path.write_text(text)
    return path


def line_of(path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def check(*args: str):
    return CliRunner().invoke(check_dois, list(args), prog_name="kb check-dois")


def test_entries_that_agree_with_crossref_pass(httpserver, env, kb_root):
    for doi in (JOR, ESMO, DELPHI):
        serve_work(httpserver, doi)
        write_entry(kb_root, doi)
    result = check()
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "3 entries checked: 0 mismatch(es), 0 notice(s), 0 error(s)" in result.stderr


def test_case_markup_dashes_abbreviated_pages_initials_and_online_year_are_not_mismatches(httpserver, env, kb_root):
    serve_work(httpserver, JOR)

    def cosmetic(text: str) -> str:
        text = text.replace(
            "title: Growth hormone secretagogue increases muscle strength during remobilization",
            "title: GROWTH HORMONE <i>secretagogue</i> increases muscle-strength during remobilization",
        )
        text = text.replace("journal: Journal of Orthopaedic Research", "journal: journal of orthopaedic research")
        text = text.replace("pages: 519-527", "pages: 519\u201327")
        text = text.replace("{family: Lieber, given: Richard L.}", "{family: LIEBER, given: R. L.}")
        text = text.replace("year: 1997", "year: 2005")  # the year it was published online (digitised)
        return text.replace("volume: '15'", "volume: 15")

    write_entry(kb_root, JOR, cosmetic)
    result = check()
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_real_differences_are_listed_at_their_lines(httpserver, env, kb_root):
    serve_work(httpserver, JOR)

    def wrong(text: str) -> str:
        text = text.replace("year: 1997", "year: 1998")
        text = text.replace("volume: '15'", "volume: '16'")
        text = text.replace("pages: 519-527", "pages: 519-529")
        text = text.replace("journal: Journal of Orthopaedic Research", "journal: Journal of Orthopedic Surgery")
        text = text.replace("{family: Jacks, given: Thomas M.}", "{family: Jackson, given: Thomas M.}")
        text = text.replace("    - {family: Hickey, given: Gerard J.}\n", "")
        return text.replace("title: Growth hormone", "title: Growth factor")

    path = write_entry(kb_root, JOR, wrong)
    result = check(str(path))
    assert result.exit_code == 1
    shown = "entries/lieber-1997-growth.yaml"
    expected = [
        f"{shown}:{line_of(path, 'title: Growth factor')}: title: entry says Growth factor secretagogue increases "
        "muscle strength during remobilization after canine hindlimb immobilization, Crossref says Growth hormone "
        "secretagogue increases muscle strength during remobilization after canine hindlimb immobilization",
        f"{shown}:{line_of(path, 'Jackson')}: authors[1]: entry says Jackson, Thomas M., Crossref says Jacks, "
        "Thomas M.",
        f"{shown}:{line_of(path, 'authors:')}: authors: entry says 11 authors, Crossref says 12",
        f"{shown}:{line_of(path, 'year:')}: year: entry says 1998, Crossref says 1997",
        f"{shown}:{line_of(path, 'journal:')}: journal: entry says Journal of Orthopedic Surgery, Crossref says "
        "Journal of Orthopaedic Research",
        f"{shown}:{line_of(path, 'volume:')}: volume: entry says 16, Crossref says 15",
        f"{shown}:{line_of(path, 'pages:')}: pages: entry says 519-529, Crossref says 519-527",
    ]
    assert result.stdout.splitlines() == expected
    assert "1 entry checked: 7 mismatch(es)" in result.stderr


def test_a_missing_field_and_pages_instead_of_an_article_number(httpserver, env, kb_root):
    serve_work(httpserver, DELPHI)

    def edit(text: str) -> str:
        return text.replace("  issue: '6'\n", "").replace("article_number: e20476", "pages: '1-10'")

    path = write_entry(kb_root, DELPHI, edit)
    result = check()
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"entries/{path.name}:{line_of(path, 'citation:')}: issue: entry says nothing, Crossref says 6",
        f"entries/{path.name}:{line_of(path, 'pages:')}: pages: entry says 1-10, Crossref says e20476",
    ]


def test_a_correction_is_proposed_and_written_as_a_notice(httpserver, env, kb_root):
    serve_work(httpserver, MICE)
    path = write_entry(kb_root, MICE, lambda text: text + "# a closing comment that must survive\n")
    proposed = check()
    assert proposed.exit_code == 1
    notice_doi = "10.1371/annotation/c76da2c1-ccb8-4797-94c1-359d3ceceeda"
    first = proposed.stdout.splitlines()[0]
    assert first == (
        f"entries/{path.name}:{line_of(path, 'doi:')}: notices: Crossref records a correction of this work "
        f"({notice_doi}, 2012-05-08)"
    )
    assert "--write-notices" in proposed.stdout and f"doi: {notice_doi}" in proposed.stdout
    assert "notices" not in load_text(path.read_text(), "x").data  # only proposed

    written = check("--write-notices")
    assert written.exit_code == 1  # it was found in this run
    data = load_text(path.read_text(), "x").data
    note = "Crossref records a correction of this work"
    assert data["notices"] == [{"type": "correction", "doi": notice_doi, "date": "2012-05-08", "note": note}]
    assert "# a closing comment that must survive" in path.read_text()
    assert sorted(p.name for p in (kb_root / "entries").iterdir()) == [path.name]  # no temp file left

    again = check()
    assert again.exit_code == 0, again.output
    assert again.stdout == ""


def test_service_failure_stops_the_run_after_the_first_entry(httpserver, env, kb_root):
    httpserver.expect_request(f"/works/{DELPHI}").respond_with_data("down", status=500)
    write_entry(kb_root, DELPHI, name="a-first")
    write_entry(kb_root, JOR, name="b-second")
    result = check()
    assert result.exit_code == 1
    assert "kb check-dois: error: stopped: Crossref" in result.stderr and "HTTP 500 (3 attempts)" in result.stderr
    assert {request.path for request, _ in httpserver.log} == {f"/works/{DELPHI}"}
    assert len(httpserver.log) == 3


def test_unknown_dois_bad_dois_and_entries_without_one(httpserver, env, kb_root):
    missing = "10.9999/missing"
    httpserver.expect_request(f"/works/{missing}").respond_with_data("Resource not found.", status=404)
    httpserver.expect_request(f"/works/{missing}/agency").respond_with_data("Resource not found.", status=404)
    serve_work(httpserver, ESMO)
    entries = kb_root / "entries"
    (entries / "a-missing.yaml").write_text(f"id: a-missing\ntitle: T\ncitation:\n  doi: {missing}\n")
    (entries / "b-bad.yaml").write_text("id: b-bad\ntitle: T\ncitation:\n  type: article\n  doi: not-a-doi\n")
    (entries / "c-none.yaml").write_text("id: c-none\ntitle: T\ncitation:\n  type: book\n")
    (entries / "d-broken.yaml").write_text("id: [unclosed\n")
    write_entry(kb_root, ESMO, name="e-fine")
    result = check()
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("entries/a-missing.yaml:4:8: error: DOI 10.9999/missing is not registered")
    assert lines[1] == "entries/b-bad.yaml:5:8: error: 'not-a-doi' is not a DOI; run kb validate"
    assert lines[2].startswith("entries/d-broken.yaml:2:1: error: YAML syntax error")
    assert len(lines) == 3
    assert "1 entry checked" in result.stderr and "1 without a DOI skipped" in result.stderr


# --- notices from what Crossref records -----------------------------------------------------------------


def work_with(**record) -> Work:
    return Work("10.1016/j.x.2020.01.001", "crossref", {"DOI": "10.1016/j.x.2020.01.001", "title": ["T"], **record})


def test_notices_come_from_updated_by_update_to_relation_and_the_title():
    updated = {"updated": {"date-parts": [[2021, 3, 4]]}}
    work = work_with(
        **{
            "updated-by": [
                {"DOI": "10.1016/j.x.2021.9", "type": "retraction", "source": "retraction-watch", **updated},
                {"DOI": "10.1016/j.x.2021.8", "type": "new_version"},
                {"DOI": "10.1016/j.x.2021.7", "type": "expression_of_concern", "label": "Expression of concern"},
            ],
            "update-to": [{"DOI": "10.1016/J.X.2020.01.001", "type": "removal", **updated}],
            "relation": {"is-corrected-by": [{"id-type": "doi", "id": "10.1016/j.x.2021.6", "asserted-by": "subject"}]},
        }
    )
    notices = notices_of(work)
    assert [(n["type"], n.get("doi")) for n in notices] == [
        ("retraction", "10.1016/j.x.2021.9"),
        ("expression-of-concern", "10.1016/j.x.2021.7"),
        ("withdrawal", "10.1016/j.x.2020.01.001"),
        ("correction", "10.1016/j.x.2021.6"),
    ]
    assert notices[0]["date"] == "2021-03-04" and "Retraction Watch" in notices[0]["note"]
    assert notices_of(work_with(title=["RETRACTED: Psilocybin for everything"])) == [
        {"type": "retraction", "note": "Crossref gives the title as retracted or withdrawn"}
    ]
    assert notices_of(work_with(relation={"has-preprint": [{"id-type": "doi", "id": "10.1/p"}]})) == []


def test_a_doi_that_is_itself_a_notice_is_a_mismatch(tmp_path):
    work = work_with(**{"update-to": [{"DOI": "10.1016/j.x.2019.5", "type": "retraction"}]})
    entry = load_text("id: x\ncitation:\n  doi: 10.1016/j.x.2020.01.001\n", "entries/x.yaml")
    [mismatch] = notice_mismatches(entry, work)
    assert mismatch.format() == (
        "entries/x.yaml:3: doi: entry says 10.1016/j.x.2020.01.001, Crossref says it is a retraction notice for "
        "10.1016/j.x.2019.5: cite that work and add the notice"
    )


NOTICE = {"type": "retraction", "doi": "10.1/r", "date": "2020-01-02", "note": "Retracted."}


@pytest.mark.parametrize(
    "text",
    [
        "id: x\ntitle: T\n",
        "id: x\nnotices: []\ntitle: T\n",
        "id: x\nnotices:\n  - type: correction\n    doi: 10.1/c\n# a comment\ntitle: T\n",
        "id: x\nnotices:\n- type: correction\n  note: indentless list\n\ntitle: T\n",
    ],
    ids=["none", "empty", "block", "indentless"],
)
def test_notices_are_appended_keeping_everything_else(text):
    before = yaml.safe_load(text)
    after_text = with_notices(text, [NOTICE])
    after = yaml.safe_load(after_text)
    assert after == {**before, "notices": [*(before.get("notices") or []), NOTICE]}
    assert all(line in after_text for line in text.splitlines() if line.startswith("#"))


def test_an_inline_notices_list_is_left_for_a_person():
    with pytest.raises(NoticeEditError, match="by hand"):
        with_notices("id: x\nnotices: [{type: other}]\n", [NOTICE])


# --- the real command -----------------------------------------------------------------------------------


def test_kb_check_dois_as_a_process_and_the_progress_bar_only_on_a_terminal(httpserver, env, kb_root):
    serve_work(httpserver, JOR)
    write_entry(kb_root, JOR, lambda text: text.replace("year: 1997", "year: 1998"))
    piped = run_kb(["check-dois"], {**env, "CI": ""}, kb_root)
    assert piped.returncode == 1 and "Traceback" not in piped.stderr
    assert piped.stdout.splitlines()[0].endswith(": year: entry says 1998, Crossref says 1997")
    assert "Checking DOIs" not in piped.stderr

    on_terminal = run_kb(["check-dois"], {**env, "CI": ""}, kb_root, stderr_on_terminal=True)
    assert on_terminal.returncode == 1
    assert "Checking DOIs" in on_terminal.stderr


def test_fields_crossref_lacks_are_not_mismatches(httpserver, env, kb_root):
    serve_message(httpserver, "10.1000/made-up", {"DOI": "10.1000/made-up", "title": ["A <i>made-up</i> work."]})
    (kb_root / "entries" / "made-up.yaml").write_text(
        "id: made-up\ntitle: A made-up work\ncitation:\n  type: article\n  doi: 10.1000/made-up\n"
    )
    result = check()
    assert result.exit_code == 0, result.output
