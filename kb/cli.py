"""The `kb` command: thin click wrappers over the pipeline stages.

Commands only parse options, call a stage and print its problems; the work lives in the stage modules.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import click

from kb import __version__
from kb.atomic import WriteError
from kb.changes import GitError, changed_entries
from kb.doi_commands import register as register_doi_commands
from kb.problems import Problem, ProblemError, display_path
from kb.project import Project, entry_paths
from kb.stale import Age, parse_age, stale_entries
from kb.validate import ValidationResult, validate_entries
from kb.vocabulary import Vocabulary, load_vocabulary


class Context:
    """What every command gets: the project folder."""

    def __init__(self, root: Path):
        self.project = Project(root)


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kb")
@click.option(
    "-C",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Run as if kb was started in this folder (the knowledge base root).",
)
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """Build and check an evidence-summary knowledge base."""
    ctx.obj = Context(root)


def print_problems(problems: list[Problem], output_format: str = "text") -> None:
    for problem in problems:
        click.echo(problem.format_github() if output_format == "github" else problem.format())


def fail(problem: Problem) -> None:
    """Report one problem and stop with exit code 1."""
    click.echo(problem.format(), err=True)
    sys.exit(1)


def open_vocabulary(project: Project) -> Vocabulary:
    try:
        return load_vocabulary(project.vocabulary_path)
    except ProblemError as error:
        fail(error.problem)


def summary_line(result: ValidationResult, checked: int) -> str:
    errors, warnings = len(result.errors), len(result.warnings)
    return f"{checked} entr{'y' if checked == 1 else 'ies'} checked: {errors} error(s), {warnings} warning(s)"


def progress_for(label: str):
    """A progress bar on a terminal, nothing in CI or when output is piped."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None

    def wrap(items):
        with click.progressbar(items, label=label, file=sys.stderr) as bar:
            yield from bar

    return wrap


def resolve_paths(project: Project, paths: tuple[Path, ...]) -> list[Path]:
    """Entry files named on the command line (folders expand to their entries); all entries by default."""
    if not paths:
        return project.entry_paths()
    resolved = []
    for path in paths:
        if path.is_dir():
            resolved += entry_paths(path)
        elif not path.exists():
            fail(Problem(display_path(path), 1, 1, "error", "no such file"))
        else:
            resolved.append(path)
    return resolved


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "github"]),
    default="text",
    help="github: print GitHub Actions annotations.",
)
@click.option(
    "--changed",
    "base",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[BASE]",
    help="Only entries changed since the merge base with git ref BASE (default: origin/main, else main).",
)
@pass_context
def validate(context: Context, paths: tuple[Path, ...], strict: bool, output_format: str, base: str | None) -> None:
    """Check entries (default: all of entries/) against the schema, the vocabulary and each other."""
    project = context.project
    vocabulary = open_vocabulary(project)
    if base is None:
        selected = resolve_paths(project, paths)
    elif paths:
        raise click.UsageError("name entry files or use --changed, not both")
    else:
        try:
            changes = changed_entries(project, base or None)
        except GitError as error:
            click.echo(f"kb validate --changed: error: {error}", err=True)
            sys.exit(1)
        click.echo(changes.describe(), err=True)
        selected = changes.selected
    result = validate_entries(selected, vocabulary, others=project.entry_paths(), progress=progress_for("Validating"))
    result.problems[:0] = project.foreign_links()  # what kb build would refuse, validate refuses too
    print_problems(result.problems, output_format)
    click.echo(summary_line(result, len(selected)), err=True)
    sys.exit(0 if result.ok(strict) else 1)


def parse_age_option(ctx: click.Context, param: click.Parameter, value: str) -> Age:
    try:
        return parse_age(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@cli.command()
@click.option(
    "--older-than",
    "age",
    default="12m",
    show_default=True,
    callback=parse_age_option,
    help="Report studies last reviewed longer ago than this: 30d, 6w, 12m or 1y.",
)
@click.option("--fail", is_flag=True, help="Exit with 1 when any study is due for review.")
@pass_context
def stale(context: Context, age: Age, fail: bool) -> None:
    """List studies due for review, oldest first (record.reviewed, or record.added when never reviewed)."""
    report = stale_entries(context.project.entry_paths(), age)
    print_problems(report.problems)
    for item in report.stale:
        click.echo(item.format())
    click.echo(
        f"{len(report.stale)} of {report.checked} studies last reviewed more than {age} ago (before {report.cutoff})",
        err=True,
    )
    sys.exit(1 if fail and report.stale else 0)


def _preview_state(generation) -> str:
    return "the preview shows any pages already written" if generation.partial else "the preview is unchanged"


def _report_regeneration(generation) -> None:
    report_generation(generation, "Regenerated", _preview_state(generation))


def report_generation(generation, label: str = "Generated", kept: str = "site/ was not changed") -> None:
    """Problems first, then one line: what was written (or why nothing was)."""
    print_problems(generation.problems)
    if not generation.ok:
        errors = sum(p.is_error for p in generation.problems)
        done = "nothing was generated"
        if generation.partial:
            done = "rendering stopped (pages already written stay in docs/)"
        click.echo(f"kb: {errors} error(s); {done} and {kept}", err=True)
        return
    report = generation.report
    click.echo(
        f"{label} pages for {generation.studies} stud{'y' if generation.studies == 1 else 'ies'}: "
        f"{len(report.written)} file(s) written, {len(report.removed)} removed, {report.unchanged} unchanged "
        f"({generation.seconds:.1f}s)",
        err=True,
    )


@contextlib.contextmanager
def operator_errors(kept: str = "") -> Iterator[None]:
    """A folder that cannot be written (permissions, read-only, full disk) is the operator's to fix: one line that
    names it and says what to do, exit code 1; `kept` adds what was left as it was."""
    try:
        yield
    except WriteError as error:
        click.echo(f"kb: error: {error}{kept}", err=True)
        sys.exit(1)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--title", required=True, help='The site\'s name, e.g. "Mindfulness evidence summaries".')
@click.option("--force", is_flag=True, help="Add the files to a folder that is not empty (never replacing one).")
@pass_context
def init(context: Context, folder: Path, title: str, force: bool) -> None:
    """Make a new knowledge base in FOLDER that builds at once: mkdocs.yml, a vocabulary with example terms,
    the entry template, home and about pages, README, CONTRIBUTING, GitHub workflows and issue forms."""
    from kb.init import InitError, init_knowledge_base

    target = folder if folder.is_absolute() else context.project.root / folder
    try:
        created = init_knowledge_base(target, title, force=force)
    except InitError as error:
        click.echo(f"kb init: error: {error}", err=True)
        sys.exit(1)
    except OSError as error:
        click.echo(
            f"kb init: error: could not write {display_path(error.filename or target)}: {error.strerror}", err=True
        )
        sys.exit(1)
    where = display_path(created.root)
    click.echo(f"Created a knowledge base in {where}: {len(created.written)} file(s)", err=True)
    if created.kept:
        click.echo(f"  left as they were: {', '.join(created.kept)}", err=True)
    click.echo(
        f"Next: cd {where} && python -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/kb build"
        "\n      then replace the example terms in vocabulary.yml and add your first study with kb new DOI --write",
        err=True,
    )


ENGINE_OPTION = click.option(
    "--engine",
    type=click.Choice(["mkdocs", "zensical"]),
    default="mkdocs",
    show_default=True,
    help="The site engine: MkDocs with Material, or Zensical (pip install 'kb-evidence[zensical]').",
)


def chosen_engine(name: str):
    from kb.engines import engine_named, missing

    engine = engine_named(name)
    reason = missing(engine)
    if reason:
        click.echo(f"kb: error: {reason}", err=True)
        sys.exit(1)
    return engine


@cli.command()
@click.option("--markdown-only", is_flag=True, help="Only generate the pages and downloads in docs/; skip the engine.")
@ENGINE_OPTION
@pass_context
def build(context: Context, markdown_only: bool, engine: str) -> None:
    """Validate the entries, generate the pages into docs/ and build the site into site/ with the site engine.

    site/ is replaced only when everything succeeded; on any error it is left as it was.
    """
    from kb import build as pipeline  # imported here so that `kb validate` does not load pybtex and Jinja

    project = context.project
    site_engine = chosen_engine(engine)
    progress, render_progress = progress_for("Validating"), progress_for("Rendering")
    if markdown_only:
        with operator_errors():
            generation = pipeline.generate(project, progress, render_progress)
        report_generation(generation)
        sys.exit(0 if generation.ok else 1)
    with operator_errors(kept=f" ({display_path(project.site_dir)}/ was not changed)"):
        result = pipeline.build_site(project, progress, render_progress, site_engine)
    report_generation(result.generation)
    if not result.generation.ok:
        sys.exit(1)
    if not result.built:
        for line in pipeline.mkdocs_messages(result.mkdocs_output):
            click.echo(f"{site_engine.name}: {line}", err=True)
        click.echo("kb: the site build failed; site/ was not changed", err=True)
        sys.exit(1)
    seconds = f"{site_engine.label} {result.mkdocs_seconds:.1f}s"
    click.echo(f"Built the site into {display_path(project.site_dir)} ({seconds})", err=True)


@cli.command()
@click.option("-a", "--dev-addr", default="127.0.0.1:8000", show_default=True, metavar="HOST:PORT")
@ENGINE_OPTION
@pass_context
def serve(context: Context, dev_addr: str, engine: str) -> None:
    """Preview the site, regenerating pages whenever entries/, templates/ or vocabulary.yml change."""
    from kb import build as pipeline

    project = context.project
    site_engine = chosen_engine(engine)
    problem = pipeline.address_problem(dev_addr)
    if problem:
        click.echo(f"kb: error: {problem}", err=True)
        sys.exit(1)
    with operator_errors():
        generation = pipeline.generate(project, progress_for("Validating"), progress_for("Rendering"))
    report_generation(generation)
    if not generation.ok:
        sys.exit(1)
    click.echo(f"Serving on http://{dev_addr}/ ; edit entries/, templates/ or vocabulary.yml to regenerate", err=True)
    sys.exit(pipeline.serve(project, dev_addr, _report_regeneration, site_engine))


register_doi_commands(cli)


def main(arguments: list[str] | None = None) -> None:
    """Console entry point (`arguments` instead of the command line's, for tests): no input, however broken, ends
    in a traceback (set KB_DEBUG=1 to see one)."""
    try:
        cli(arguments, standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - last line of defence, see docstring
        if os.environ.get("KB_DEBUG", "").strip().lower() not in ("", "0", "false", "no"):
            traceback.print_exc()
        click.echo(f"kb: internal error: {type(error).__name__}: {error} (set KB_DEBUG=1 for details)", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
