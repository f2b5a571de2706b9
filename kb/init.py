"""`kb init DIR --title "..."`: a new knowledge base for any field, that builds at once.

The starter files live in the package (`kb/starter/`): mkdocs.yml, a vocabulary with the standard facets and a
few example terms, `entries/_template.yaml`, home, about and contributing pages, README and CONTRIBUTING, the
GitHub workflows and issue forms. A path part named `dot-x` there is written as `.x` (package data keeps no
hidden files). The title goes into mkdocs.yml as a YAML string and into headings as escaped Markdown, so any
title reads back exactly as typed. The generator's templates, theme and assets are not copied: they stay in
the package (kb.defaults), where the knowledge base can override any of them.

A new folder is written whole into a temporary sibling and renamed into place, so a failure leaves nothing
behind; an existing folder must be empty unless `force`, and even then no file already there is replaced.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kb.atomic import write_atomic
from kb.render.templating import heading_text
from kb.text import is_hidden
from kb.vocabulary import UNSAFE_LABEL_CHARACTERS

STARTER_DIR = Path(__file__).resolve().parent / "starter"
DISTRIBUTION = "kb-evidence"
MAX_TITLE_CHARS = 200
_PLACEHOLDERS = ("__KB_TITLE_YAML__", "__KB_TITLE_MD__")


class InitError(Exception):
    """Why `kb init` refused; `str(error)` is the message."""


@dataclass
class Created:
    root: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # with --force: files already there, left as they were


def init_knowledge_base(target: Path, title: str, force: bool = False) -> Created:
    """Write a new knowledge base into `target`; raises `InitError` (nothing written) when it cannot."""
    title = check_title(title)
    files = starter_files(title)
    if target.exists() and not target.is_dir():
        raise InitError(f"{target} exists and is not a folder")
    existing = sorted(path.name for path in target.iterdir()) if target.is_dir() else []
    if existing and not force:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise InitError(
            f"{target} is not empty ({shown}); choose a new or empty folder, or add --force to add the files "
            "kb init makes to it (files already there are never replaced)"
        )
    if existing:
        return _add_to(target, files)
    return _create(target, files)


def check_title(title: str) -> str:
    """The site's name: one line of visible text, at most 200 characters."""
    title = title.strip()
    if not title:
        raise InitError('--title is empty; give the site a name, e.g. --title "Mindfulness evidence summaries"')
    if len(title) > MAX_TITLE_CHARS:
        raise InitError(f"--title has {len(title)} characters; keep it to {MAX_TITLE_CHARS}")
    if any(is_hidden(character) or character in "\n\r\u2028\u2029" for character in title):
        raise InitError("--title holds control, line-break or invisible characters; type it as plain text")
    unsafe = [character for character in UNSAFE_LABEL_CHARACTERS if character in title]
    if unsafe:  # Material prints site_name into the page as it is (it is the maintainer's own config)
        raise InitError(f"--title may not contain {' '.join(unsafe)}: the theme would print it as HTML")
    return title


def starter_files(title: str) -> dict[str, bytes]:
    """Every file of a new knowledge base, by its path in it."""
    files = {}
    for path in sorted(STARTER_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = "/".join(_unhidden(part) for part in path.relative_to(STARTER_DIR).parts)
            files[name] = _filled(path.read_bytes(), title)
    files["requirements.txt"] = requirements().encode("utf-8")
    return files


def requirements() -> str:
    """requirements.txt: the generator as this kb was installed (a release, or the commit of a Git install)."""
    pin = f"{DISTRIBUTION}=={_version()}"
    try:
        direct = json.loads(importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json") or "{}")
    except (importlib.metadata.PackageNotFoundError, json.JSONDecodeError):
        direct = {}
    vcs = direct.get("vcs_info") if isinstance(direct, dict) else None
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        pin = f"{DISTRIBUTION} @ git+{direct['url']}@{vcs['commit_id']}"
    return f"# The kb generator this knowledge base is built with (change it to where you install kb from).\n{pin}\n"


def _version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from kb import __version__

        return __version__


def _unhidden(part: str) -> str:
    return "." + part.removeprefix("dot-") if part.startswith("dot-") else part


def _filled(content: bytes, title: str) -> bytes:
    if not any(placeholder.encode() in content for placeholder in _PLACEHOLDERS):
        return content
    text = content.decode("utf-8")
    text = text.replace("__KB_TITLE_YAML__", json.dumps(title, ensure_ascii=False))  # JSON strings are YAML
    text = text.replace("__KB_TITLE_MD__", str(heading_text(title)))
    return text.encode("utf-8")


def _create(target: Path, files: dict[str, bytes]) -> Created:
    """Everything into a temporary sibling folder, then renamed to `target` (which is missing or empty)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.kb-init-", dir=target.parent))
    try:
        for name, content in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(content)
        os.chmod(staging, 0o777 & ~_umask())
        os.replace(staging, target)  # replaces an empty folder too
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Created(target, written=list(files))


def _add_to(target: Path, files: dict[str, bytes]) -> Created:
    """--force: each file that is not there yet, written whole (temporary file, then rename)."""
    created = Created(target)
    for name, content in files.items():
        path = target / name
        if path.exists() or path.is_symlink():
            created.kept.append(name)
            continue
        write_atomic(path, content)
        created.written.append(name)
    return created


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
