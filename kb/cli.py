"""The `kb` command: thin click wrappers over the pipeline stages.

Commands only parse options, call a stage and print its problems; the work lives in the stage modules.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from kb import __version__
from kb.problems import Problem, ProblemError, display_path
from kb.project import Project, entry_paths
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
@pass_context
def validate(context: Context, paths: tuple[Path, ...], strict: bool, output_format: str) -> None:
    """Check entries (default: all of entries/) against the schema, the vocabulary and each other."""
    project = context.project
    vocabulary = open_vocabulary(project)
    selected = resolve_paths(project, paths)
    result = validate_entries(selected, vocabulary, others=project.entry_paths(), progress=progress_for("Validating"))
    print_problems(result.problems, output_format)
    click.echo(summary_line(result, len(selected)), err=True)
    sys.exit(0 if result.ok(strict) else 1)


def main() -> None:
    """Console entry point: no input, however broken, ends in a traceback (set KB_DEBUG=1 to see one)."""
    try:
        cli(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - last line of defence, see docstring
        if os.environ.get("KB_DEBUG"):
            traceback.print_exc()
        click.echo(f"kb: internal error: {type(error).__name__}: {error} (set KB_DEBUG=1 for details)", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
