"""The Jinja2 environment for `templates/`, and the filters that keep entry text from turning into markup.

Generated pages are Markdown, but everything that comes from an entry is written as escaped HTML inside raw
HTML blocks (autoescape is on for every template). Python-Markdown leaves raw HTML blocks alone, so neither a
`<script>` nor Markdown syntax (`*`, `[x](y)`, a fenced block, a snippet marker) in an entry becomes markup.
Line-based Markdown extensions only act on whole lines, so entry text is never allowed to start a line: the
`paragraphs` and `oneline` filters fold it onto the line of the tag that holds it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import traceback
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from kb.codecache import folder
from kb.problems import ERROR, Problem, ProblemError, display_path

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
HEAD_TEXT_KEYS = {"title", "description"}


def oneline(text: object) -> Markup:
    """Escaped text on one line (YAML folding and hand-wrapped text leave newlines)."""
    return escape(" ".join(str(text).split()))


# Python-Markdown's backslash escapes: with these escaped, heading text can form no link, emphasis, code span
# or attribute list ({ onclick=... }); HTML is escaped first, so no '<' or '>' is left either. The '#' of the
# entities that escaping makes (&#39; for an apostrophe, &#34;) stays, or the entity would show as text.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()>+\-.!]|(?<!&)#)")


def heading_text(text: object) -> Markup:
    """Text for a Markdown heading (`## {{ x|heading_text }}`), which Markdown parses: HTML escaped, then every
    Markdown punctuation character backslash-escaped, so it shows exactly as written.

    >>> print(heading_text("[x](javascript:alert(1)) { onclick=y }"))
    \\[x\\]\\(javascript:alert\\(1\\)\\) \\{ onclick=y \\}
    >>> print(heading_text("Crohn's disease #2"))
    Crohn&#39;s disease \\#2
    """
    return Markup(_MARKDOWN_PUNCTUATION.sub(r"\\\1", str(oneline(text))))


def paragraphs(text: object) -> Markup:
    """Escaped text as <p> elements, one per paragraph, each on its own line."""
    parts = [oneline(part) for part in _PARAGRAPH_BREAK.split(str(text)) if part.strip()]
    return Markup("\n".join(f"<p>{part}</p>" for part in parts))  # each part is escaped already


def front_matter(data: dict) -> Markup:
    """A YAML front matter block. Material prints `title` and `description` into <head> unescaped, so they are
    escaped here; other keys are printed by templates/overrides/main.html, which escapes them itself.

    Each value is written as JSON, which YAML reads as a flow value: fifty times faster than a YAML emitter
    (every page has front matter), and a value can never span lines, so it cannot end the block early. YAML
    refuses a key of over 1,024 characters inside a flow value, and MkDocs then prints the whole block as page
    text, so such a key is an error here; pass text as values, never as keys (lists of pairs instead of maps)."""
    _refuse_long_keys(data)
    values = dict(data)
    for key in HEAD_TEXT_KEYS.intersection(values):
        values[key] = str(escape(" ".join(str(values[key]).split())))
    lines = [f"{key}: {_yaml_safe(json.dumps(value, ensure_ascii=False))}\n" for key, value in values.items()]
    return Markup("---\n" + "".join(lines) + "---\n")


FLOW_KEY_LIMIT = 1024  # YAML's limit on an implicit key inside a flow collection


def _refuse_long_keys(value: object) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if len(json.dumps(key, ensure_ascii=False)) >= FLOW_KEY_LIMIT:
                raise ValueError(f"front matter key over {FLOW_KEY_LIMIT} characters: {str(key)[:40]}...")
            _refuse_long_keys(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_long_keys(item)


# Characters JSON leaves as they are but YAML refuses (DEL, C1 controls, noncharacters, lone surrogates) or reads
# as line breaks (NEL, U+2028, U+2029); in JSON they can only be inside strings, where YAML reads the same \u
# escape as JSON does.
_YAML_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _yaml_safe(encoded: str) -> str:
    return _YAML_UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", encoded)


# How kb's templates are compiled. Jinja2 keys its compiled templates by source only, so the cache file names carry
# these options too: a kb that changes one must not load code compiled under the old ones.
TEMPLATE_OPTIONS = {
    "autoescape": True,
    "undefined": jinja2.StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
}


def _cache_pattern() -> str:
    """The bytecode cache's file name pattern, with a digest of TEMPLATE_OPTIONS in it.

    >>> _cache_pattern().startswith("__jinja2_%s.") and _cache_pattern().endswith(".cache")
    True
    """
    options = sorted((name, getattr(value, "__name__", value)) for name, value in TEMPLATE_OPTIONS.items())
    digest = hashlib.sha256(repr(options).encode()).hexdigest()[:12]
    return f"__jinja2_%s.{digest}.cache"


def make_environment(*folders: Path) -> jinja2.Environment:
    """Templates are looked up in `folders` in order (a knowledge base's own templates/, then the package's).

    One environment per generation run (`kb serve` makes a new one for each), so templates are read once and
    never checked for changes again: every page would otherwise cost a `stat` of each template it uses. Compiled
    templates are kept between runs, keyed by their source (Jinja2's bytecode cache)."""
    compiled = folder("templates")  # compiled templates kept between runs (kb.codecache)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(folder) for folder in folders]),
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled), _cache_pattern()) if compiled else None,
        auto_reload=False,
        **TEMPLATE_OPTIONS,
    )
    environment.filters.update(
        oneline=oneline, paragraphs=paragraphs, front_matter=front_matter, heading_text=heading_text
    )
    environment.globals["remember"] = _Remembered()
    return environment


class _Remembered:
    """`remember(macro, key, *arguments)` in a template: the macro's output for `key`, rendered the first time
    only. For pieces repeated on many pages (a study's row on each of its term pages); `key` must name everything
    the output depends on. Lives as long as its environment: one generation run."""

    def __init__(self):
        self._outputs: dict[tuple[str, str], Markup] = {}

    def __call__(self, macro, key: str, *arguments) -> Markup:
        output = self._outputs.get((macro.name, key))
        if output is None:
            output = self._outputs[(macro.name, key)] = macro(*arguments)
        return output


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
