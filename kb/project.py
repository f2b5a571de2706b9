"""Where a knowledge base keeps its files, so every command agrees on them.

A knowledge base is a folder with `entries/`, `vocabulary.yml`, `docs/` (its hand-written pages) and
`mkdocs.yml`, and optionally `templates/` with the generator's files it overrides (kb.defaults);
`kb -C DIR ...` works on another folder, the way `git -C` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.problems import ERROR, Problem, display_path


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def entries_dir(self) -> Path:
        return self.root / "entries"

    @property
    def vocabulary_path(self) -> Path:
        return self.root / "vocabulary.yml"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def docs_dir(self) -> Path:
        return self.root / "docs"

    @property
    def mkdocs_yml(self) -> Path:
        return self.root / "mkdocs.yml"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def cache_dir(self) -> Path:
        """Working space of `kb build`: MkDocs' output before it replaces site/, and the build lock."""
        return self.root / ".cache"

    @property
    def theme_dir(self) -> Path:
        """The theme kb assembles for the site engine (mkdocs.yml's custom_dir): see kb.defaults."""
        return self.cache_dir / "theme"

    @property
    def build_lock(self) -> Path:
        """Held by every run that writes docs/ or site/, so two runs never write them at once (kb.build)."""
        return self.cache_dir / "build.lock"

    def foreign_links(self) -> list[Problem]:
        """Symbolic links in templates/ and the hand-written docs/ that lead outside the knowledge base (or
        nowhere): MkDocs would publish what they point at, such as /etc/passwd, as part of the site."""
        problems = []
        root = self.root.resolve()
        for folder in (self.templates_dir, self.docs_dir):
            for path in sorted(_links_below(folder)):
                target = Path(os.path.realpath(path))
                if not target.exists() or not target.is_relative_to(root):
                    message = f"is a symbolic link to {target}, outside the knowledge base; it would be published"
                    problems.append(
                        Problem(display_path(path), 1, 1, ERROR, message, "copy the file in or delete the link")
                    )
        return problems

    def entry_paths(self) -> list[Path]:
        """Every entry file, in name order; files starting with '_' or '.' (like the template) are not entries."""
        return entry_paths(self.entries_dir)


def entry_paths(folder: Path) -> list[Path]:
    """Everything in `folder` named like an entry (.yaml or .yml in any case), files or not: a folder, a link or
    a device named x.yaml is handed on, so that reading it reports it (kb.load) instead of skipping it."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix.lower() in (".yaml", ".yml") and not path.name.startswith(("_", "."))
    )


def _links_below(folder: Path) -> Iterator[Path]:
    """Every symbolic link under `folder`, without following links to folders (a loop cannot trap the walk)."""
    for directory, folders, files in os.walk(folder, followlinks=False):
        for name in folders + files:
            path = Path(directory) / name
            if path.is_symlink():
                yield path
