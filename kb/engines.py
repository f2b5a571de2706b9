"""The site engines that turn the generated docs/ into a site: MkDocs with Material (the default) and Zensical.

Both read the knowledge base's mkdocs.yml, the same generated pages and the same assembled theme (kb.defaults);
kb runs either as a child process that dies with it (kb.parallel). They differ in how they are told where to
write: MkDocs takes `--site-dir`, Zensical only a configuration file, so for Zensical kb writes a small one
beside mkdocs.yml (`ENGINE_CONFIG`, which inherits mkdocs.yml and names the folder) and removes it afterwards.
Zensical's preview server writes the site it serves into that folder, so the preview goes to .cache/preview,
never to site/.

Example:

    >>> engine_named("zensical").label, engine_named("mkdocs").label
    ('Zensical', 'MkDocs')
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.atomic import write_atomic
from kb.parallel import child_command
from kb.project import Project

ENGINE_CONFIG = ".kb-engine.yml"  # beside mkdocs.yml: Zensical wants its site_dir inside that folder
PREVIEW_DIR = "preview"  # .cache/preview: what `kb serve --engine zensical` serves


@dataclass(frozen=True)
class Engine:
    name: str
    label: str
    module: str  # run as `python -m module`


ENGINES = {
    "mkdocs": Engine("mkdocs", "MkDocs", "mkdocs"),
    "zensical": Engine("zensical", "Zensical", "zensical"),
}
DEFAULT_ENGINE = "mkdocs"


def engine_named(name: str) -> Engine:
    return ENGINES[name]


def missing(engine: Engine) -> str | None:
    """Why `engine` cannot run here, or None."""
    if importlib.util.find_spec(engine.module) is None:
        return f"{engine.label} is not installed; install it with: pip install 'kb-evidence[{engine.name}]'"
    return None


def run_build(engine: Engine, project: Project, site_dir: Path) -> subprocess.CompletedProcess:
    """Build the site into `site_dir` strictly (any warning fails it); the output is captured."""
    with _config_for(engine, project, site_dir) as config:
        command = child_command(engine.module, "build", "--strict", "--config-file", str(config))
        if engine.name == "mkdocs":
            command += ["--site-dir", str(site_dir.resolve())]
        return subprocess.run(command, cwd=project.root, env=environment(), capture_output=True, text=True)


@contextlib.contextmanager
def serving(engine: Engine, project: Project, dev_addr: str) -> Iterator[list[str]]:
    """The command line of the engine's live preview on `dev_addr` (valid while the block runs).

    MkDocs previews with `--dirty`, rebuilding only the pages whose source changed (a full rebuild takes about
    45 s at 1,000 entries); it warns that such builds may show stale navigation, which `strict` would turn into
    an abort, so the preview's configuration is not strict (`kb build` always is). Its search index then holds only
    the pages rebuilt since the preview started."""
    if engine.name == "mkdocs":
        with _inheriting(project, {"strict": "false"}) as config:
            yield child_command("mkdocs", "serve", "--dirty", "--livereload", "--dev-addr", dev_addr, "-f", str(config))
    else:
        with _inheriting(project, {"site_dir": _inside(project, project.cache_dir / PREVIEW_DIR)}) as config:
            yield child_command("zensical", "serve", "--dev-addr", dev_addr, "--config-file", str(config))


def environment() -> dict[str, str]:
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner, on every run


@contextlib.contextmanager
def _config_for(engine: Engine, project: Project, site_dir: Path) -> Iterator[Path]:
    """mkdocs.yml itself for MkDocs; for Zensical, a configuration that inherits it and writes into `site_dir`."""
    if engine.name == "mkdocs":
        yield project.mkdocs_yml.resolve()
        return
    with _inheriting(project, {"site_dir": _inside(project, site_dir)}) as config:
        yield config


@contextlib.contextmanager
def _inheriting(project: Project, settings: dict[str, str]) -> Iterator[Path]:
    """`ENGINE_CONFIG` beside mkdocs.yml (so relative paths mean the same), inheriting it with `settings` on top;
    removed when the block ends. Values are plain scalars kb chose (a relative path, false)."""
    config = project.root / ENGINE_CONFIG
    lines = [
        "# Written by kb for the site engine (kb build/serve) and removed when it ends: mkdocs.yml, with what",
        "# kb sets for this run.",
        f"INHERIT: {project.mkdocs_yml.name}",
        *(f"{key}: {value}" for key, value in settings.items()),
    ]
    write_atomic(config, "\n".join(lines) + "\n", durable=False)
    try:
        yield config.resolve()
    finally:
        config.unlink(missing_ok=True)


def _inside(project: Project, folder: Path) -> str:
    return folder.resolve().relative_to(project.root.resolve()).as_posix()
