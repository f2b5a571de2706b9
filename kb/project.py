"""Where a knowledge base keeps its files, so every command agrees on them.

A knowledge base is a folder with `entries/`, `vocabulary.yml`, `templates/`, `docs/` and `mkdocs.yml`;
`kb -C DIR ...` works on another folder, the way `git -C` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    def build_lock(self) -> Path:
        """Held by every run that writes docs/ or site/, so two runs never write them at once (kb.build)."""
        return self.cache_dir / "build.lock"

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
