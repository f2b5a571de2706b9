"""The Jinja2 environment for `templates/`, and the filters that keep entry text from turning into markup.

Generated pages are Markdown, but everything that comes from an entry is written as escaped HTML inside raw
HTML blocks (autoescape is on for every template). Python-Markdown leaves raw HTML blocks alone, so neither a
`<script>` nor Markdown syntax (`*`, `[x](y)`, a fenced block, a snippet marker) in an entry becomes markup.
Line-based Markdown extensions only act on whole lines, so entry text is never allowed to start a line: the
`paragraphs` and `oneline` filters fold it onto the line of the tag that holds it.
"""

from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path

import jinja2
import yaml
from markupsafe import Markup, escape

from kb.problems import ERROR, Problem, ProblemError, display_path

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
HEAD_TEXT_KEYS = {"title", "description"}


def oneline(text: object) -> Markup:
    """Escaped text on one line (YAML folding and hand-wrapped text leave newlines)."""
    return escape(" ".join(str(text).split()))


def paragraphs(text: object) -> Markup:
    """Escaped text as <p> elements, one per paragraph, each on its own line."""
    parts = [oneline(part) for part in _PARAGRAPH_BREAK.split(str(text)) if part.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(part) for part in parts)


def front_matter(data: dict) -> Markup:
    """A YAML front matter block. Material prints `title` and `description` into <head> unescaped, so they are
    escaped here; other keys are printed by templates/overrides/main.html, which escapes them itself."""
    plain = {key: _plain(value) for key, value in data.items()}
    for key in HEAD_TEXT_KEYS.intersection(plain):
        plain[key] = str(escape(" ".join(plain[key].split())))
    # libyaml's emitter when there is one: the same YAML, eight times faster than PyYAML's (it is in every page)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    dumped = yaml.dump(
        plain, Dumper=dumper, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False
    )
    return Markup(f"---\n{dumped}---\n")


def _plain(value):
    """Plain Python values for the YAML dumper (it refuses str subclasses such as Markup)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str.__str__(value)
    return value


def make_environment(templates_dir: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(oneline=oneline, paragraphs=paragraphs, front_matter=front_matter)
    return environment


def render_template(environment: jinja2.Environment, name: str, context: dict) -> str:
    """Render one template; a mistake in a template becomes a `Problem` pointing into the template."""
    try:
        return environment.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as error:
        where = error.filename or str(Path(environment.loader.searchpath[0]) / name)
        raise ProblemError(Problem(display_path(where), error.lineno or 1, 1, ERROR, error.message or "")) from error
    except jinja2.TemplateNotFound as error:
        folder = display_path(environment.loader.searchpath[0])
        raise ProblemError(Problem(folder, 1, 1, ERROR, f"template '{error.name}' is missing")) from error
    except (jinja2.UndefinedError, TypeError, ValueError, AttributeError) as error:
        path, line = _template_frame(name)
        raise ProblemError(Problem(path, line, 1, ERROR, f"template error: {error}")) from error


def _template_frame(name: str) -> tuple[str, int]:
    """The innermost template line of the exception being handled (Jinja puts template lines into tracebacks)."""
    frames = traceback.extract_tb(sys.exc_info()[2])
    for frame in reversed(frames):
        if frame.filename.endswith(".j2"):
            return display_path(frame.filename), frame.lineno or 1
    return name, 1
