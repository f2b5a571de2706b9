"""What the generator brings to every knowledge base, and how a knowledge base overrides it.

The package ships the page templates (`templates/*.j2`), the theme files layered over Material (`theme/`) and
the scripts and stylesheets the pages use (`assets/`). A knowledge base keeps only what is its own; a file it
puts at the same place under its own `templates/` wins, the way Material's `custom_dir` works:

    knowledge base               replaces the package's
    templates/study.md.j2        kb/defaults/templates/study.md.j2   (a page template)
    templates/overrides/X        kb/defaults/theme/X                 (a theme file: main.html, partials/...)
    templates/assets/X           kb/defaults/assets/X                (a script, a stylesheet, feed.xsl)

Example:

    >>> sorted(layered(Path("/nowhere"), ASSETS_DIR))[:2]
    ['cite.js', 'feed.xsl']
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = DEFAULTS_DIR / "templates"
THEME_DIR = DEFAULTS_DIR / "theme"
ASSETS_DIR = DEFAULTS_DIR / "assets"

THEME_OVERRIDES = "overrides"  # under a knowledge base's templates/
ASSET_OVERRIDES = "assets"


def layered(own: Path, default: Path) -> dict[str, Path]:
    """Every file of `default` and of `own` by its path relative to them (forward slashes), `own`'s file where
    both have one. Files and folders whose names start with '.' or '__' are left out (editor and cache files)."""
    files = dict(_files_below(default))
    files.update(_files_below(own))
    return files


def _files_below(folder: Path):
    if not folder.is_dir():
        return
    for directory, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not _hidden(name))
        for name in sorted(names):
            if not _hidden(name):
                path = Path(directory, name)
                yield path.relative_to(folder).as_posix(), path


def _hidden(name: str) -> bool:
    return name.startswith((".", "__"))
