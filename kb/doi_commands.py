"""The DOI commands, `kb new DOI` and `kb check-dois`, as thin click wrappers over `kb.doi`.

They are registered on the `kb` group with `register(cli)`; `scripts/doi_lookup.py` runs `new` on its own.
Every failure ends in one line on stderr (`kb new: error: what happened; what to try`) and exit code 1,
never a traceback, and nothing is written unless the whole lookup succeeded. Everything printed goes through
`_echo`, because much of it comes from elsewhere (an agency's record, an entry file, what was pasted) and a
control character or escape sequence in it must not reach the terminal as one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.atomic import write_atomic
from kb.doi import DoiError, Settings, fetch_work, lookup, suggestion
from kb.doi.check import CheckRun, EntryCheck, NoticeEditError, check_entries, notices_yaml, write_notices
from kb.doi.client import HttpClient
from kb.doi.draft import Draft, Prefill, existing_duplicates, make_draft, write_draft
from kb.doi.watch import watch_report
from kb.identifiers import is_slug
from kb.problems import ProblemError, display_path
from kb.project import Project, entry_paths
from kb.text import shown
from kb.validate import validate_entries
from kb.vocabulary import Vocabulary, load_vocabulary

MAILTO_HELP = "Your e-mail address, sent to Crossref so it can reach you (its 'polite pool'). Default: $KB_MAILTO."


def register(group: click.Group) -> None:
    """Add `new` and `check-dois` to the `kb` command group."""
    group.add_command(new)
    group.add_command(check_dois)


def _project(ctx: click.Context) -> Project:
    """The knowledge base the `kb` group was pointed at (`kb -C DIR`), or the working directory."""
    project = getattr(ctx.find_root().obj, "project", None)
    return project if isinstance(project, Project) else Project(Path("."))


def _echo(text: str, *, err: bool = False, nl: bool = True, lines: bool = False) -> None:
    """Print `text` with control, bidi and invisible characters escaped (\\x1b, \\u202e), so that what came from
    outside cannot clear the screen or reorder what a person reads; `lines` keeps the newlines of multi-line
    output (a draft, a YAML snippet), which are otherwise escaped to keep a message on one line."""
    click.echo(shown(text, keep_newlines=lines), err=err, nl=nl)


def _fail(ctx: click.Context, message: str) -> None:
    _echo(f"{ctx.command_path}: error: {message}", err=True)
    sys.exit(1)


def _vocabulary(project: Project) -> Vocabulary | None:
    """The vocabulary, for term hints in the draft; a draft is still useful without them."""
    try:
        return load_vocabulary(project.vocabulary_path) if project.vocabulary_path.is_file() else None
    except ProblemError:
        return None


@click.command("new")
@click.argument("doi", required=False)
@click.option("--write", is_flag=True, help="Save the draft as entries/<id>.yaml (never overwrites a file).")
@click.option("--id", "entry_id", metavar="ID", help="Use this id instead of the suggested firstauthor-year-keyword.")
@click.option("--mailto", metavar="EMAIL", help=MAILTO_HELP)
@click.option("--refresh", is_flag=True, help="Ask again even when the record is in the cache.")
@click.option(
    "--from-issue",
    "issue_body",
    metavar="BODY_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draft from a 'Suggest a study' issue (its body, as GitHub writes an issue form) instead of a DOI: "
    "its DOI, and its design and topics matched to vocabulary terms.",
)
@click.option(
    "--report",
    "report_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --from-issue: write what happened as Markdown (for the issue), also when nothing was drafted.",
)
@click.pass_context
def new(
    ctx: click.Context,
    doi: str | None,
    write: bool,
    entry_id: str | None,
    mailto: str | None,
    refresh: bool,
    issue_body: Path | None,
    report_path: Path | None,
) -> None:
    """Draft an entry for DOI from its Crossref (or DataCite) record.

    The draft is printed, or saved with --write. Its citation is filled in; everything a person must write is
    marked TODO, and `kb validate` rejects the file until each TODO is done. DOI may be pasted as 10.1080/...,
    doi:10.1080/... or https://doi.org/10.1080/...
    """
    project = _project(ctx)
    if entry_id is not None and not is_slug(entry_id):
        _fail(ctx, f"--id '{entry_id}' is not a valid id; use lowercase letters, digits and hyphens")
    if (doi is None) == (issue_body is None):
        _fail(ctx, "give a DOI or --from-issue BODY_FILE (one of them)")
    if report_path is not None and issue_body is None:
        _fail(ctx, "--report goes with --from-issue")
    drafting = _Drafting(ctx, project, entry_id, mailto, refresh, report_path)
    if issue_body is not None:
        _new_from_issue(drafting, issue_body, write)
        return
    draft, work, cited = drafting.draft(doi, write=write)
    for message in existing_duplicates(entry_paths(project.entries_dir), work.doi, cited.title):
        _echo(f"{ctx.command_path}: warning: {message}", err=True)
    if not write:
        _echo(draft.text, nl=False, lines=True)
        return
    written = display_path(drafting.write(draft))
    _echo(f"wrote {written}: fill in every TODO, then run kb validate {written}", err=True)


class _Drafting:
    """One `kb new` run's lookup and writing. Every failure ends the run with one line (`fail`), and with the
    report for the issue when there is one to write."""

    def __init__(self, ctx: click.Context, project: Project, entry_id, mailto, refresh: bool, report_path):
        self.ctx, self.project, self.entry_id, self.mailto, self.refresh = ctx, project, entry_id, mailto, refresh
        self.report_path = report_path
        self.vocabulary = _vocabulary(project)

    def fail(self, message: str) -> None:
        self.report(suggestion.Outcome(reason=message))
        _fail(self.ctx, message)

    def report(self, outcome: suggestion.Outcome) -> None:
        """The report for the issue, when --report asked for one."""
        if self.report_path is not None:
            _write_markdown(self.ctx, self.report_path, suggestion.report(outcome))

    def draft(self, doi: str, prefill: Prefill | None = None, write: bool = False):
        """The draft for `doi`; with `write`, the run stops before anything else is said when its file is taken."""
        try:
            settings = Settings.from_env(mailto=self.mailto, root=self.project.root)
            work, cited = lookup(doi, settings, refresh=self.refresh)
        except DoiError as error:
            self.fail(str(error))
        draft = make_draft(work, cited, entry_id=self.entry_id, vocabulary=self.vocabulary, prefill=prefill)
        if write and self._target(draft).exists():
            self._taken(draft)
        return draft, work, cited

    def write(self, draft: Draft) -> Path:
        try:
            return write_draft(draft, self.project.entries_dir)
        except FileExistsError:
            self._taken(draft)
        except OSError as error:
            target = display_path(self._target(draft))
            self.fail(f"could not write {target}: {error.strerror or error}; check the folder")

    def _target(self, draft: Draft) -> Path:
        return self.project.entries_dir / f"{draft.id}.yaml"

    def _taken(self, draft: Draft) -> None:
        target = display_path(self._target(draft))
        self.fail(f"{target} already exists and was left as it is; choose another id with --id")


def _new_from_issue(drafting: _Drafting, body_path: Path, write: bool) -> None:
    """`kb new --from-issue`: the suggestion's DOI drafted, its design and topics filled in where they match the
    vocabulary, the draft validated, and a report for the issue, also when nothing could be drafted."""
    project = drafting.project
    suggested = _read_suggestion(body_path, drafting.fail)
    vocabulary = drafting.vocabulary or Vocabulary({})
    design = suggestion.design_term(suggested.design, vocabulary)
    match = suggestion.match_topics(suggested.topics, vocabulary)
    prefill = Prefill("suggested in the issue", design, match.tags)
    draft, work, cited = drafting.draft(suggested.doi_text, prefill, write=write)
    duplicates = existing_duplicates(entry_paths(project.entries_dir), work.doi, cited.title)
    written, todo = None, []
    if write:
        path = drafting.write(draft)
        written, todo = display_path(path), _still_to_write(project, path, vocabulary)
    else:
        _echo(draft.text, nl=False, lines=True)
    outcome = suggestion.Outcome(written, draft.id, None, design, match, todo, duplicates)
    drafting.report(outcome)
    _echo(suggestion.report(outcome), err=True, lines=True)


def _read_suggestion(path: Path, fail) -> suggestion.Suggestion:
    try:
        return suggestion.read_suggestion(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        fail(f"could not read {display_path(path)}: {getattr(error, 'strerror', None) or error}")
    except suggestion.SuggestionError as error:
        fail(str(error))


def _still_to_write(project: Project, path: Path, vocabulary: Vocabulary) -> list[str]:
    """What `kb validate` says of the fresh draft: its TODOs, and anything the suggestion got wrong."""
    others = entry_paths(project.entries_dir)
    return [problem.format() for problem in validate_entries([path], vocabulary, others=others).problems]


def _write_markdown(ctx: click.Context, path: Path, text: str) -> None:
    """A report file (`kb new --report`, `kb check-dois --report-markdown`), whole or not at all."""
    try:
        write_atomic(path, text)
    except OSError as error:
        _fail(ctx, f"could not write {display_path(path)}: {error.strerror or error}; check the path")


@click.command("check-dois")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--write-notices", is_flag=True, help="Append proposed retraction/correction notices to the entries.")
@click.option("--mailto", metavar="EMAIL", help=MAILTO_HELP)
@click.option("--refresh", is_flag=True, help="Ignore cached records (notices are added to records over time).")
@click.option(
    "--report-markdown",
    "report",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the findings as Markdown (the retraction watch's issue text); not written if the run stops.",
)
@click.pass_context
def check_dois(
    ctx: click.Context,
    paths: tuple[Path, ...],
    write_notices: bool,
    mailto: str | None,
    refresh: bool,
    report: Path | None,
):
    """Compare entries' citations (default: all of entries/) with Crossref, and flag retractions and corrections.

    Prints `path:line: field: entry says X, Crossref says Y` for each difference and proposes a `notices:` item
    for each retraction, withdrawal, correction or expression of concern. Exit 1 when anything is found.
    With --report-markdown, the same findings (or an all-clear) are written to FILE as GitHub Markdown.
    """
    from kb.cli import progress_for, resolve_paths  # here, not at the top: kb.cli imports this module

    project = _project(ctx)
    try:
        settings = Settings.from_env(mailto=mailto, root=project.root)
    except DoiError as error:
        _fail(ctx, str(error))
    client = HttpClient(settings)
    selected = resolve_paths(project, paths)
    run = check_entries(
        selected, lambda doi: fetch_work(doi, settings, refresh=refresh, client=client), progress_for("Checking DOIs")
    )
    for result in run.results:
        _report(ctx, result, write_notices)
    _echo(_summary(run), err=True)
    if run.stopped is not None:
        _fail(ctx, f"stopped: {run.stopped}")
    if report is not None:
        _write_markdown(ctx, report, watch_report(run))
    sys.exit(0 if run.ok else 1)


def _report(ctx: click.Context, result: EntryCheck, write: bool) -> None:
    for problem in result.problems:
        _echo(problem.format())
    for mismatch in result.mismatches:
        _echo(mismatch.format())
    if not result.notices:
        return
    for notice in result.notices:
        details = ", ".join(filter(None, [notice.get("doi"), notice.get("date")]))
        _echo(f"{result.path}:{result.notice_line}: notices: {notice['note']}" + (f" ({details})" if details else ""))
    if write:
        try:
            write_notices(Path(result.path), result.notices)
            _echo(f"{result.path}: added {len(result.notices)} notice(s)", err=True)
            return
        except (NoticeEditError, ProblemError, OSError) as error:
            _echo(f"{ctx.command_path}: error: {_reason(error)}", err=True)
    _echo(f"  add to {result.path} (or run kb check-dois --write-notices):")
    _echo("    notices:")
    _echo(notices_yaml(result.notices, "      "), nl=False, lines=True)


def _reason(error: Exception) -> str:
    if isinstance(error, ProblemError):
        return error.problem.format()
    if isinstance(error, OSError):
        return f"could not write {error.filename}: {error.strerror}"
    return str(error)


def _summary(run: CheckRun) -> str:
    checked = sum(result.checked for result in run.results)
    mismatches = sum(len(result.mismatches) for result in run.results)
    notices = sum(len(result.notices) for result in run.results)
    errors = sum(len(result.problems) for result in run.results)
    text = f"{checked} entr{'y' if checked == 1 else 'ies'} checked: {mismatches} mismatch(es), {notices} notice(s)"
    text += f", {errors} error(s)"
    return text + (f"; {len(run.without_doi)} without a DOI skipped" if run.without_doi else "")
