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

from kb.doi import DoiError, Settings, fetch_work, lookup
from kb.doi.check import CheckRun, EntryCheck, NoticeEditError, check_entries, notices_yaml, write_notices
from kb.doi.client import HttpClient
from kb.doi.draft import existing_duplicates, make_draft, write_draft
from kb.identifiers import is_slug
from kb.problems import ProblemError, display_path
from kb.project import Project, entry_paths
from kb.text import shown
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
@click.argument("doi")
@click.option("--write", is_flag=True, help="Save the draft as entries/<id>.yaml (never overwrites a file).")
@click.option("--id", "entry_id", metavar="ID", help="Use this id instead of the suggested firstauthor-year-keyword.")
@click.option("--mailto", metavar="EMAIL", help=MAILTO_HELP)
@click.option("--refresh", is_flag=True, help="Ask again even when the record is in the cache.")
@click.pass_context
def new(ctx: click.Context, doi: str, write: bool, entry_id: str | None, mailto: str | None, refresh: bool) -> None:
    """Draft an entry for DOI from its Crossref (or DataCite) record.

    The draft is printed, or saved with --write. Its citation is filled in; everything a person must write is
    marked TODO, and `kb validate` rejects the file until each TODO is done. DOI may be pasted as 10.1080/...,
    doi:10.1080/... or https://doi.org/10.1080/...
    """
    project = _project(ctx)
    if entry_id is not None and not is_slug(entry_id):
        _fail(ctx, f"--id '{entry_id}' is not a valid id; use lowercase letters, digits and hyphens")
    try:
        settings = Settings.from_env(mailto=mailto, root=project.root)
        work, cited = lookup(doi, settings, refresh=refresh)
    except DoiError as error:
        _fail(ctx, str(error))
    draft = make_draft(work, cited, entry_id=entry_id, vocabulary=_vocabulary(project))
    target = project.entries_dir / f"{draft.id}.yaml"
    if write and target.exists():
        _fail(ctx, f"{display_path(target)} already exists and was left as it is; choose another id with --id")
    for message in existing_duplicates(entry_paths(project.entries_dir), work.doi, cited.title):
        _echo(f"{ctx.command_path}: warning: {message}", err=True)
    if not write:
        _echo(draft.text, nl=False, lines=True)
        return
    try:
        path = write_draft(draft, project.entries_dir)
    except FileExistsError:
        _fail(ctx, f"{display_path(target)} already exists and was left as it is; choose another id with --id")
    except OSError as error:
        _fail(ctx, f"could not write {display_path(target)}: {error.strerror or error}; check the folder")
    written = display_path(path)
    _echo(f"wrote {written}: fill in every TODO, then run kb validate {written}", err=True)


@click.command("check-dois")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--write-notices", is_flag=True, help="Append proposed retraction/correction notices to the entries.")
@click.option("--mailto", metavar="EMAIL", help=MAILTO_HELP)
@click.option("--refresh", is_flag=True, help="Ignore cached records (notices are added to records over time).")
@click.pass_context
def check_dois(ctx: click.Context, paths: tuple[Path, ...], write_notices: bool, mailto: str | None, refresh: bool):
    """Compare entries' citations (default: all of entries/) with Crossref, and flag retractions and corrections.

    Prints `path:line: field: entry says X, Crossref says Y` for each difference and proposes a `notices:` item
    for each retraction, withdrawal, correction or expression of concern. Exit 1 when anything is found.
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
