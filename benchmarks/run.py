"""Benchmarks: each cost of the knowledge base measured against a baseline taken in the same run.

    .venv/bin/python benchmarks/run.py                  # 1,000 and 10,000 entries (the 10,000 MkDocs build is slow)
    .venv/bin/python benchmarks/run.py --quick          # 200 and 2,000 entries: a smoke run
    .venv/bin/python benchmarks/run.py --sizes 1000 --repeat 5 --skip-site

Synthetic corpora (scripts/make_corpus.py) are cached under build/bench/. Every timed step runs in a fresh
interpreter (so one step's memory does not slow the next) and is timed there with time.perf_counter around the
work only; command-line figures are timed from outside, start-up included. Each time is the median of --repeat
runs. The table is printed as Markdown and written to --output; see benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "build" / "bench"
MAKE_CORPUS = ROOT / "scripts" / "make_corpus.py"
SEED = 1
# The corpus's most common topic word (self-compassion heads the Zipf tail: the biggest index chunk, the worst
# case) and a condition of middling frequency (a typical query).
SEARCH_QUERIES = ("compassion", "insomnia")

# --- timed steps, each run by `run.py --worker STEP CORPUS` in a child interpreter -------------------------------


def step_parse(corpus: Path) -> dict:
    """The baseline: list the entry files and parse each with PyYAML's C loader, nothing else."""
    import yaml

    started = time.perf_counter()
    for path in sorted((corpus / "entries").glob("*.yaml")):
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return {"seconds": time.perf_counter() - started}


def step_validate(corpus: Path) -> dict:
    """What `kb validate` does, in process: read the vocabulary, then check every entry."""
    from kb.project import Project
    from kb.validate import validate_entries
    from kb.vocabulary import load_vocabulary

    project = Project(corpus)
    started = time.perf_counter()
    vocabulary = load_vocabulary(project.vocabulary_path)
    paths = project.entry_paths()
    result = validate_entries(paths, vocabulary, others=paths)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "problems": len(result.problems), "studies": len(result.studies)}


def step_duplicates(corpus: Path) -> dict:
    """Duplicate detection alone (same DOI, near-identical titles), on entries already loaded."""
    from kb.load import gc_paused, load_entry
    from kb.validate import _entry_key
    from kb.validate.corpus import duplicate_problems

    with gc_paused():
        keys = [_entry_key(load_entry(path)) for path in sorted((corpus / "entries").glob("*.yaml"))]
        started = time.perf_counter()
        problems = duplicate_problems(keys)
        return {"seconds": time.perf_counter() - started, "problems": len(problems)}


def step_related(corpus: Path) -> dict:
    """Cross-linking (posting lists, and every study's related studies, kb.link), on studies already validated.
    Related studies are ranked spread over the cores (kb.parallel), as generation spreads them: each is ranked in
    the worker that renders its study's page."""
    from kb.link import link_studies
    from kb.load import gc_paused
    from kb.parallel import map_chunks

    studies = _studies(corpus)
    with gc_paused():
        started = time.perf_counter()
        links = link_studies(studies)
        counts = map_chunks(lambda chunk: [len(links.related_to(s.id)) for s in chunk], links.studies)
        return {"seconds": time.perf_counter() - started, "related": sum(counts)}


def _studies(corpus: Path) -> list:
    from kb.project import Project
    from kb.validate import validate_entries
    from kb.vocabulary import load_vocabulary

    project = Project(corpus)
    paths = project.entry_paths()
    return validate_entries(paths, load_vocabulary(project.vocabulary_path), others=paths).studies


def step_generate(corpus: Path) -> dict:
    """Generation from scratch (load + validate + link + render + write Markdown): generated pages removed first."""
    from kb.build import generate
    from kb.project import Project

    _set_aside_generated(corpus / "docs")
    settle_disk()
    started = time.perf_counter()
    generation = generate(Project(corpus))
    seconds = time.perf_counter() - started
    if not generation.ok:
        raise SystemExit(f"generation failed: {[p.format() for p in generation.problems[:5]]}")
    return {"seconds": seconds, "written": len(generation.report.written)}


def settle_disk() -> None:
    """Flush what earlier steps wrote before a timed step starts, so that the disk's catching up (writeback) is
    not charged to whichever step runs next. Both sides of the generation figure get it."""
    os.sync()


TRASH_DIR = BENCH_DIR / "trash"


def set_aside(path: Path) -> None:
    """Move an earlier run's output out of the way, to be deleted when the whole run is over (`empty_trash`).

    Deleting it just before a timed step would charge that step for the deletion: on a file system without a
    journal (this machine's ext4) the kernel will not reuse an inode freed in the last minute or so, and scans
    past every such inode each time it creates a file in the same block group, so thousands of files created
    right after thousands were deleted cost seconds of kernel time. A fresh clone never pays that; both sides
    of the generation figure are measured without it."""
    if path.exists():
        TRASH_DIR.mkdir(parents=True, exist_ok=True)
        os.replace(path, TRASH_DIR / f"{time.time_ns()}-{path.name}")


def empty_trash() -> None:
    shutil.rmtree(TRASH_DIR, ignore_errors=True)


def _set_aside_generated(docs: Path) -> None:
    from kb.render.output import GENERATED_DIRS, GENERATED_FILES

    for name in (*GENERATED_DIRS, *GENERATED_FILES):
        set_aside(docs / name)


def step_incremental(corpus: Path) -> dict:
    """Change one entry's text, regenerate, and count what was rewritten; every other file must keep its mtime."""
    from kb.build import generate
    from kb.project import Project

    project = Project(corpus)
    if not generate(project).ok:  # bring docs/ up to date first
        raise SystemExit("generation failed")
    entry = project.entry_paths()[len(project.entry_paths()) // 2]
    original = entry.read_text(encoding="utf-8")
    results = {}
    text = original
    try:
        for label, old, new in (  # cumulative: each change is measured against the site with the one before
            ("summary text", "  background: ", "  background: Benchmark edit. "),
            ("headline", "headline: '[synthetic] ", "headline: '[synthetic] Edited: "),
        ):
            before = _mtimes(project.docs_dir)
            text = text.replace(old, new, 1)
            entry.write_text(text, encoding="utf-8")
            started = time.perf_counter()
            generation = generate(project)
            seconds = time.perf_counter() - started
            after = _mtimes(project.docs_dir)
            touched = sorted(path for path in after if before.get(path) != after[path])
            written = sorted(generation.report.written)
            results[label] = {
                "seconds": seconds,
                "written": written,
                "touched_not_reported": sorted(set(touched) - set(written)),
                "files": len(after),
            }
    finally:
        entry.write_text(original, encoding="utf-8")
        generate(project)
    return {"entry": entry.stem, "changes": results}


def _mtimes(docs: Path) -> dict[str, int]:
    return {path.relative_to(docs).as_posix(): path.stat().st_mtime_ns for path in docs.rglob("*") if path.is_file()}


STEPS = {
    "parse": step_parse,
    "validate": step_validate,
    "duplicates": step_duplicates,
    "related": step_related,
    "generate": step_generate,
    "incremental": step_incremental,
}


def worker(step: str, corpus: Path) -> None:
    print(json.dumps(STEPS[step](corpus)))


# --- the runner ------------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the table: a measured value against a baseline (or a plain target) and whether it passes."""

    figure: str
    size: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None
    note: str = ""


@dataclass
class Run:
    repeat: int
    mkdocs_repeat: int
    search: str
    figures: list[Figure] = field(default_factory=list)
    costs: dict[int, dict[str, float]] = field(default_factory=dict)
    sizes: dict[int, dict[str, float]] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)  # every timed run, by "<size> <cost>"

    def say(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)


def in_child(step: str, corpus: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", step, str(corpus)],
        capture_output=True,
        text=True,
        env=_child_environment(),
    )
    if completed.returncode != 0:
        raise SystemExit(f"benchmark step {step} failed on {corpus}:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _child_environment() -> dict[str, str]:
    return {**os.environ, "CI": "1", "NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}


def timed_command(command: list[str], cwd: Path | None = None) -> float:
    """Wall time of a command from the outside, start-up included."""
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=_child_environment())
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(command)}\n{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}")
    return seconds


def median_of(run: Run, label: str, repeat: int, measure) -> float:
    """The median of `repeat` measurements, each kept in `run.samples` under `label` (results.json)."""
    values = [measure() for _ in range(repeat)]
    run.samples[label] = values
    return statistics.median(values)


def corpus_for(n: int, run: Run) -> Path:
    """The cached corpus of `n` entries, rebuilt when the generator or the vocabulary changed; site files re-copied."""
    corpus = BENCH_DIR / f"corpus-{n}"
    stamp = hashlib.sha256(MAKE_CORPUS.read_bytes() + (ROOT / "vocabulary.yml").read_bytes()).hexdigest()[:16]
    stamp_file = BENCH_DIR / f"corpus-{n}.stamp"
    if not (corpus / "entries").is_dir() or not stamp_file.exists() or stamp_file.read_text() != f"{stamp} {SEED}":
        run.say(f"writing a synthetic corpus of {n:,} entries to {corpus}")
        command = [sys.executable, str(MAKE_CORPUS), "--n", str(n), "--out", str(corpus), "--seed", str(SEED)]
        subprocess.run(command, check=True)
        stamp_file.write_text(f"{stamp} {SEED}")
    else:
        make_corpus().copy_site_files(corpus)  # templates, docs and mkdocs.yml as they are now
    return corpus


def make_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", MAKE_CORPUS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kb_command() -> list[str]:
    script = Path(sys.executable).with_name("kb")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kb.cli"]


PARSE_SCRIPT = (
    "import sys, yaml, pathlib\n"
    "for p in sorted(pathlib.Path(sys.argv[1], 'entries').glob('*.yaml')):\n"
    "    yaml.load(p.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader)\n"
)


def bench_validate(n: int, corpus: Path, run: Run) -> None:
    run.say(f"[{n:,}] validate vs C-loader parse")
    parse, validate = [], []
    for _ in range(run.repeat):  # in pairs, back to back: the machine's speed drifts by tens of percent
        parse.append(in_child("parse", corpus)["seconds"])
        result = in_child("validate", corpus)
        validate.append(result["seconds"])
    if result["problems"]:
        run.figures.append(Figure("corpus check", f"{n:,}", f"{result['problems']} problems", "", None, "0", False))
    run.samples.update({f"{n} parse": parse, f"{n} validate": validate})
    parse_s, validate_s = statistics.median(parse), statistics.median(validate)
    ratio = paired_ratio(validate, parse)
    run.figures.append(ratio_figure("1. validate, in process", n, validate_s, parse_s, "parse", 1.5, ratio))
    cli_parse, cli_validate = [], []
    for _ in range(run.repeat):
        cli_parse.append(timed_command([sys.executable, "-c", PARSE_SCRIPT, str(corpus)]))
        cli_validate.append(timed_command([*kb_command(), "-C", str(corpus), "validate"]))
    run.samples.update({f"{n} parse command": cli_parse, f"{n} kb validate": cli_validate})
    cli_parse_s, cli_validate_s = statistics.median(cli_parse), statistics.median(cli_validate)
    ratio = paired_ratio(cli_validate, cli_parse)
    name = "1. `kb validate`, command line"
    run.figures.append(ratio_figure(name, n, cli_validate_s, cli_parse_s, "parse", 1.5, ratio))
    run.costs.setdefault(n, {}).update(
        {
            "parse (baseline)": parse_s,
            "validate, in process": validate_s,
            "`kb validate`, command line": cli_validate_s,
        }
    )


def bench_parts(n: int, corpus: Path, run: Run) -> None:
    run.say(f"[{n:,}] duplicate detection and related studies")
    costs = run.costs.setdefault(n, {})
    for name, step in (("duplicate detection (DOIs, titles)", "duplicates"), ("related studies (kb.link)", "related")):
        costs[name] = median_of(run, f"{n} {name}", run.repeat, lambda step=step: in_child(step, corpus)["seconds"])


def bench_site(n: int, corpus: Path, run: Run) -> None:
    if run.search == "pagefind":
        use_search_backend(corpus, "pagefind")
    run.say(f"[{n:,}] generation")
    generation = median_of(run, f"{n} generation", run.repeat, lambda: in_child("generate", corpus)["seconds"])
    site = BENCH_DIR / f"site-{n}"
    run.say(f"[{n:,}] mkdocs build (slow)")
    mkdocs = median_of(run, f"{n} mkdocs build", run.mkdocs_repeat, lambda: mkdocs_build(corpus, site))
    run.figures.append(ratio_figure("2. generation vs `mkdocs build`", n, generation, mkdocs, "MkDocs", 0.10))
    run.costs.setdefault(n, {}).update({"generation": generation, "`mkdocs build`": mkdocs})
    total = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
    files = sum(1 for path in site.rglob("*") if path.is_file())
    sizes = run.sizes.setdefault(n, {})
    sizes.update({"site bytes": total, "site files": files, "per entry": total / n})
    sizes["material search"] = material_search_bytes(site)
    if run.search == "pagefind":
        run.say(f"[{n:,}] pagefind index and a first query in Chromium")
        sizes["pagefind"] = pagefind_first_query(corpus, site, run)
    run.say(f"[{n:,}] incremental regeneration")
    sizes["incremental"] = in_child("incremental", corpus)


def bench_search_again(n: int, run: Run) -> None:
    """Search figures on the site an earlier run built, after copying the theme's current assets into it (what
    `mkdocs build` would do), so a change to the search script can be measured without rebuilding."""
    site = BENCH_DIR / f"site-{n}"
    if not (site / "index.html").exists():
        raise SystemExit(f"no site at {site}: run the full benchmark first")
    assets = ROOT / "kb" / "defaults" / "theme" / "assets"
    shutil.copytree(assets, site / "assets", dirs_exist_ok=True)
    run.say(f"[{n:,}] pagefind index and first queries in Chromium, on {site}")
    sizes = run.sizes.setdefault(n, {})
    sizes["material search"] = material_search_bytes(site)
    sizes["pagefind"] = pagefind_first_query(BENCH_DIR / f"corpus-{n}", site, run)


def mkdocs_build(corpus: Path, site: Path) -> float:
    """`mkdocs build` of the pages already generated, into `site` (the same command `kb build` runs)."""
    set_aside(site)
    settle_disk()
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    return timed_command([*command, "--config-file", str(corpus / "mkdocs.yml")], cwd=corpus)


def material_search_bytes(site: Path) -> dict:
    """What Material's search fetches before showing a result: the whole index and the search worker, gzipped."""
    index = site / "search" / "search_index.json"
    workers = sorted((site / "assets" / "javascripts" / "workers").glob("search.*.min.js"))
    parts = {"search_index.json": gzipped_size(index) if index.exists() else 0}
    parts.update({f"workers/{path.name}": gzipped_size(path) for path in workers})
    return {"bytes": sum(parts.values()), "parts": parts, "raw_index": index.stat().st_size if index.exists() else 0}


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))


def pagefind_first_query(corpus: Path, site: Path, run: Run) -> dict:
    """Index the built site with Pagefind, then type a query into the site's search box in headless Chromium and
    add up every search file the browser fetched until the first result showed (gzipped where the server would)."""
    from search_probe import first_query_bytes

    from kb.build import run_pagefind

    started = time.perf_counter()
    indexed = run_pagefind(site)  # what `kb build` runs after MkDocs when mkdocs.yml asks for Pagefind
    if indexed.returncode != 0:
        raise SystemExit(indexed.stderr)
    index_seconds = time.perf_counter() - started
    results = [first_query_bytes(site, query=query) for query in SEARCH_QUERIES]
    return {"index_seconds": index_seconds, "queries": results}


def use_search_backend(corpus: Path, backend: str) -> None:
    """Set `extra: kb_search:` in the corpus's copy of mkdocs.yml (the theme reads it)."""
    config = corpus / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    if "kb_search:" in text:
        return
    if "\nextra:\n" in text:
        text = text.replace("\nextra:\n", f"\nextra:\n  kb_search: {backend}\n", 1)
    else:
        text += f"\nextra:\n  kb_search: {backend}\n"
    config.write_text(text, encoding="utf-8")


def paired_ratio(measured: list[float], baseline: list[float]) -> float:
    """The median of the ratios of runs made back to back: steadier than a ratio of medians on a busy machine."""
    return statistics.median(m / b for m, b in zip(measured, baseline, strict=True))


def ratio_figure(
    name: str, n: int, measured: float, baseline: float, baseline_name: str, target: float, ratio: float | None = None
) -> Figure:
    """A row comparing two times; `ratio` defaults to measured / baseline."""
    ratio = ratio if ratio is not None else (measured / baseline if baseline else None)
    return Figure(
        name,
        f"{n:,}",
        f"{measured:.2f} s",
        f"{baseline_name} {baseline:.2f} s",
        ratio,
        f"<= {target:g}x",
        ratio is not None and ratio <= target,
    )


BASELINE_COSTS = ("parse (baseline)", "`mkdocs build`")  # not kb's: their growth is shown for reference


def growth_figures(run: Run, small: int, large: int) -> None:
    """Each cost at the largest size against the smallest. The baselines' own growth has no target (it is not a
    cost of kb), but shows how far this machine itself departs from linear between the two sizes."""
    scale = large / small
    limit = 1.1 * scale  # 11x for 1,000 -> 10,000: linear, with 10% to spare
    for name, large_cost in run.costs.get(large, {}).items():
        small_cost = run.costs.get(small, {}).get(name)
        if not small_cost:
            continue
        ratio = large_cost / small_cost
        baseline = name in BASELINE_COSTS
        run.figures.append(
            Figure(
                f"3. growth: {name}",
                f"{small:,} -> {large:,}",
                f"{large_cost:.2f} s",
                f"{small_cost:.2f} s",
                ratio,
                "baseline: for reference" if baseline else f"<= {limit:g}x",
                None if baseline else ratio <= limit,
            )
        )


def size_figures(run: Run, ordered: list[int]) -> None:
    for n in ordered:
        sizes = run.sizes.get(n)
        if not sizes:
            continue
        search = sizes["material search"]
        run.figures.append(
            Figure(
                "5. search: Material (index + worker, gzipped)",
                f"{n:,}",
                human(search["bytes"]),
                f"index {human(search['raw_index'])} raw",
                None,
                "over 1 MB: Pagefind needed",
                None,  # informative: says whether the site needs Pagefind, which has its own target below
                note="Pagefind needed" if search["bytes"] > 1_000_000 else "",
            )
        )
        for found in sizes.get("pagefind", {}).get("queries", []):
            run.figures.append(
                Figure(
                    "5. search: Pagefind, first query",
                    f"{n:,}",
                    human(found["bytes"]),
                    f"{found['requests']} files, {found['results']} results",
                    None,
                    "<= 300 KB",
                    found["bytes"] <= 300_000 and found["results"] > 0,
                    note=f"query '{found['query']}'",
                )
            )
        incremental = sizes.get("incremental", {"changes": {}})
        for label, change in incremental["changes"].items():
            untouched_ok = not change["touched_not_reported"]
            run.figures.append(
                Figure(
                    f"6. incremental: one entry's {label}",
                    f"{n:,}",
                    f"{len(change['written'])} of {change['files']:,} files rewritten",
                    f"{change['seconds']:.2f} s",
                    None,
                    "only dependants; others' mtimes kept",
                    untouched_ok,
                    note=", ".join(_folders(change["written"])),
                )
            )
    if len(ordered) >= 2 and all("per entry" in run.sizes.get(n, {}) for n in (ordered[0], ordered[-1])):
        small, large = ordered[0], ordered[-1]
        per_small, per_large = run.sizes[small]["per entry"], run.sizes[large]["per entry"]
        ratio = per_large / per_small
        run.figures.append(
            Figure(
                "4. site size per entry",
                f"{small:,} -> {large:,}",
                f"{human(per_large)}/entry",
                f"{human(per_small)}/entry",
                ratio,
                "<= 1.1x",
                ratio <= 1.1,
                note=f"{human(run.sizes[large]['site bytes'])} in {run.sizes[large]['site files']:,} files",
            )
        )


def _folders(paths: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for path in paths:
        folder = path.split("/", 1)[0] if "/" in path else path
        counts[folder] = counts.get(folder, 0) + 1
    return [f"{folder} {count}" for folder, count in sorted(counts.items())]


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def markdown_table(run: Run, command: str) -> str:
    lines = [
        "| Figure | Entries | Measured | Baseline | Ratio | Target | Pass |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for figure in sorted(run.figures, key=lambda figure: figure.figure.split(".")[0]):  # by number; stable
        ratio = f"{figure.ratio:.2f}x" if figure.ratio is not None else ""
        verdict = {True: "pass", False: "**FAIL**", None: ""}[figure.passed]
        measured = figure.measured + (f" ({figure.note})" if figure.note else "")
        cells = [figure.figure, figure.size, measured, figure.baseline, ratio, figure.target, verdict]
        lines.append("| " + " | ".join(cells) + " |")
    machine = f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    intro = (
        "## Performance\n\n"
        "Synthetic knowledge bases (`scripts/make_corpus.py`) at each size; every figure is a ratio against a "
        "baseline measured in the same run on the same machine (see `benchmarks/README.md` for what each row "
        f"measures). Produced by `{command}` on {time.strftime('%Y-%m-%d')} ({machine}; times are medians of "
        f"{run.repeat} runs, MkDocs of {run.mkdocs_repeat})."
    )
    return intro + "\n\n" + "\n".join(lines) + "\n"


def save_details(run: Run, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        details = {"costs": run.costs, "sizes": run.sizes, "samples": run.samples}
        output.with_suffix(".json").write_text(json.dumps(details, indent=2, default=str), encoding="utf-8")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated entry counts (default 1000,10000)")
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 entries, one run each: a smoke test")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is reported")
    parser.add_argument("--mkdocs-repeat", type=int, default=1, help="runs of the (slow) MkDocs build")
    parser.add_argument("--skip-site", action="store_true", help="only validation figures (no generation or MkDocs)")
    parser.add_argument("--search", choices=["material", "pagefind"], default="pagefind", help="search figure to add")
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="only the search figures, on the sites the last full run built (theme assets refreshed, re-indexed)",
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md", help="where to write the table")
    parser.add_argument("--worker", nargs=2, metavar=("STEP", "CORPUS"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _measure(arguments: argparse.Namespace, run: Run, sizes: list[int]) -> None:
    for n in sizes:
        if arguments.search_only:
            bench_search_again(n, run)
            continue
        corpus = corpus_for(n, run)
        bench_validate(n, corpus, run)
        bench_parts(n, corpus, run)
        if not arguments.skip_site:
            bench_site(n, corpus, run)
        save_details(run, arguments.output)  # after each size, so a late failure keeps what was measured


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.worker:
        worker(arguments.worker[0], Path(arguments.worker[1]))
        return 0
    sizes = [200, 2000] if arguments.quick else [int(size) for size in arguments.sizes.split(",")]
    repeat = 1 if arguments.quick else arguments.repeat
    run = Run(repeat=repeat, mkdocs_repeat=arguments.mkdocs_repeat, search=arguments.search)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    empty_trash()  # left by a run that was interrupted
    try:
        _measure(arguments, run, sizes)
    finally:
        run.say("deleting the earlier outputs set aside during the run")
        empty_trash()
    ordered = sorted(sizes)
    if len(ordered) >= 2:
        growth_figures(run, ordered[0], ordered[-1])
    size_figures(run, ordered)
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    table = markdown_table(run, command.strip())
    print(table)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(table, encoding="utf-8")
    save_details(run, arguments.output)
    return 0 if all(figure.passed is not False for figure in run.figures) else 1


if __name__ == "__main__":
    sys.exit(main())
