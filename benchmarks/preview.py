"""Preview and engine figures (issue 13), as ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/preview.py                      # 1,000 entries, both engines (about 10 minutes)
    .venv/bin/python benchmarks/preview.py --sizes 1000,10000   # and 10,000 (well over an hour on 2 cores)

For each size, on a synthetic corpus (scripts/make_corpus.py, cached in build/bench/preview-N/):

- full build: `kb build --engine E` from a fresh clone's state (no docs/ pages, no site/), timed from outside;
- edit to visible: `kb serve --engine E` is started and left to settle; then one entry's summary gets a new word
  and the served study page is asked for every 0.1 s until the word is there (median of --edits edits). The
  ratio is against the full `kb build` with MkDocs (the default) of the same run; the targets are a tenth at
  1,000 entries and a twentieth at 10,000;
- MkDocs per study page: `mkdocs build` of the corpus's generated study pages alone, against `mkdocs build` of
  as many plain Markdown pages of the same text length, same mkdocs.yml; target at most 2x.

The table is printed as Markdown and written to build/bench/preview.md (raw numbers in preview.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from kb.render.output import GENERATED_DIRS, GENERATED_FILES  # noqa: E402

BENCH_DIR = ROOT / "build" / "bench"
MAKE_CORPUS = ROOT / "scripts" / "make_corpus.py"
ENGINES = ("mkdocs", "zensical")
TARGETS = {1000: 0.10, 10000: 0.05}  # edit-to-visible / full build
PAGE_TARGET = 2.0
START_TIMEOUT = 3600
EDIT_TIMEOUT = 1800


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def environment() -> dict[str, str]:
    return {**os.environ, "CI": "1", "NO_MKDOCS_2_WARNING": "1"}


def kb(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "kb.cli", *arguments]


def corpus_for(n: int) -> Path:
    corpus = BENCH_DIR / f"preview-{n}"
    if not (corpus / "entries").is_dir():
        say(f"writing a synthetic corpus of {n:,} entries to {corpus}")
        command = [sys.executable, str(MAKE_CORPUS), "--n", str(n), "--out", str(corpus), "--seed", "1"]
        subprocess.run(command, check=True)
    return corpus


def fresh(corpus: Path) -> None:
    """The corpus as a fresh clone has it: no generated pages, no site, no caches."""
    for name in ("site", ".cache"):
        shutil.rmtree(corpus / name, ignore_errors=True)
    for name in GENERATED_DIRS:
        shutil.rmtree(corpus / "docs" / name, ignore_errors=True)
    for name in GENERATED_FILES:
        (corpus / "docs" / name).unlink(missing_ok=True)


def generate(corpus: Path) -> None:
    command = kb("-C", str(corpus), "build", "--markdown-only")
    subprocess.run(command, check=True, env=environment(), capture_output=True)


def full_build(corpus: Path, engine: str) -> float:
    fresh(corpus)
    started = time.perf_counter()
    completed = subprocess.run(kb("-C", str(corpus), "build", "--engine", engine), env=environment(), text=True,
                               capture_output=True)  # fmt: skip
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"kb build --engine {engine} failed:\n{completed.stderr[-3000:]}")
    return seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def _wait(condition, timeout: float, poll: float = 0.1) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if condition():
            return time.perf_counter() - started
        time.sleep(poll)
    raise SystemExit(f"gave up after {timeout} s")


def edit_latencies(corpus: Path, engine: str, edits: int) -> list[float]:
    fresh(corpus)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (BENCH_DIR / f"serve-{engine}.log").open("wb")
    server = subprocess.Popen(kb("-C", str(corpus), "serve", "--engine", engine, "-a", f"127.0.0.1:{port}"),
                              stdout=log, stderr=log, env=environment(), start_new_session=True)  # fmt: skip
    entry = sorted((corpus / "entries").glob("[!_]*.yaml"))[len(list((corpus / "entries").glob("*.yaml"))) // 2]
    page = f"{url}/studies/{entry.stem}/"
    original = entry.read_text(encoding="utf-8")
    latencies = []
    try:
        _wait(lambda: _get(page)[0] == 200, START_TIMEOUT, poll=1)
        time.sleep(10)  # let the engine finish what it started with
        for number in range(edits):
            marker = f"benchmarkedit{number}x{os.getpid()}"
            text, count = re.subn(r"(\n  overview: )(?=[A-Za-z])", rf"\g<1>{marker} ", original, count=1)
            if not count:
                raise SystemExit(f"{entry} has no summary.overview block to edit")
            entry.write_text(text, encoding="utf-8")
            latencies.append(_wait(lambda m=marker: m in _get(page)[1], EDIT_TIMEOUT))
            say(f"  {engine}: edit {number + 1} visible after {latencies[-1]:.1f} s")
            time.sleep(5)
    finally:
        entry.write_text(original, encoding="utf-8")
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)
        log.close()
    return latencies


def per_page(corpus: Path) -> tuple[float, float, int]:
    """Seconds per page of `mkdocs build` for the generated study pages and for plain pages of equal length."""
    fresh(corpus)
    subprocess.run(
        kb("-C", str(corpus), "build", "--markdown-only"), check=True, env=environment(), capture_output=True
    )
    studies = sorted(p for p in (corpus / "docs" / "studies").glob("*.md") if p.name != "index.md")
    timings = []
    for kind in ("study", "plain"):
        project = BENCH_DIR / f"pages-{kind}"
        shutil.rmtree(project, ignore_errors=True)
        # Only the pages compared (and what they load), so that nothing else dilutes the difference.
        (project / "docs" / "studies").mkdir(parents=True)
        (project / "docs" / "index.md").write_text("# Pages\n", encoding="utf-8")
        shutil.copytree(corpus / "docs" / "kb-assets", project / "docs" / "kb-assets")
        shutil.copytree(corpus / ".cache" / "theme", project / ".cache" / "theme")
        for source in studies:
            text = source.read_text(encoding="utf-8")
            if kind == "plain":
                text = _plain_text_of_length(len(text))
            (project / "docs" / "studies" / source.name).write_text(text, encoding="utf-8")
        shutil.copy(corpus / "mkdocs.yml", project / "mkdocs.yml")
        shutil.copy(corpus / "CONTRIBUTING.md", project / "CONTRIBUTING.md")
        started = time.perf_counter()
        command = [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(project / "mkdocs.yml")]
        subprocess.run(command, cwd=project, env=environment(), capture_output=True, check=False)
        timings.append(time.perf_counter() - started)
        say(f"  mkdocs build of {len(studies)} {kind} pages: {timings[-1]:.1f} s")
    return timings[0] / len(studies), timings[1] / len(studies), len(studies)


def _plain_text_of_length(length: int) -> str:
    sentence = "Plain prose of the same length as a study page, in paragraphs of ordinary words. "
    paragraph = sentence * 6 + "\n\n"
    return ("# A plain page\n\n" + paragraph * (length // len(paragraph) + 1))[:length]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--edits", type=int, default=2)
    parser.add_argument("--figures", default="builds,edits,pages", help="which figures to measure")
    arguments = parser.parse_args(argv)
    # Stopped from outside (timeout, kill): end the way Ctrl-C does, so that a kb serve it started is stopped too
    # (it runs in a session of its own) instead of going on editing the corpus under the next run.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rows, raw, passed = [], {}, True
    for n in map(int, arguments.sizes.split(",")):
        corpus = corpus_for(n)
        builds, figures = {}, arguments.figures.split(",")
        for engine in arguments.engines.split(",") if "builds" in figures or "edits" in figures else []:
            builds[engine] = full_build(corpus, engine)
            say(f"[{n:,}] kb build --engine {engine}: {builds[engine]:.1f} s")
        baseline = builds.get("mkdocs") or next(iter(builds.values()), 0.0)
        for engine, seconds in builds.items():
            rows.append((f"full kb build, {engine}", n, f"{seconds:.1f} s", f"{baseline:.1f} s (mkdocs)",
                         seconds / baseline, "", None))  # fmt: skip
        for engine in arguments.engines.split(",") if "edits" in figures else []:
            latencies = edit_latencies(corpus, engine, arguments.edits)
            latency = statistics.median(latencies)
            target = TARGETS.get(n)
            ok = None if target is None else latency / baseline <= target
            passed = passed and ok is not False
            rows.append((f"edit to visible, {engine}", n, f"{latency:.1f} s", f"{baseline:.1f} s (kb build)",
                         latency / baseline, f"<= {target}" if target else "", ok))  # fmt: skip
            raw[f"{n} edit {engine}"] = latencies
        raw[f"{n} builds"] = builds
        if "pages" in figures:
            study, plain, pages = per_page(corpus)
            ok = study / plain <= PAGE_TARGET
            passed = passed and ok
            rows.append(("MkDocs per study page", n, f"{study * 1000:.1f} ms", f"{plain * 1000:.1f} ms (plain page)",
                         study / plain, f"<= {PAGE_TARGET}", ok))  # fmt: skip
            raw[f"{n} per page"] = {"study": study, "plain": plain, "pages": pages}
    table = _table(rows, " ".join(["benchmarks/preview.py", *(argv if argv is not None else sys.argv[1:])]))
    print(table)
    (BENCH_DIR / "preview.md").write_text(table, encoding="utf-8")
    (BENCH_DIR / "preview.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    return 0 if passed else 1


def _table(rows: list, command: str) -> str:
    lines = [
        f"`{command}` on {os.cpu_count()} cores",
        "",
        "| figure | entries | measured | baseline | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for figure, n, measured, baseline, ratio, target, ok in rows:
        met = "" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| {figure} | {n:,} | {measured} | {baseline} | {ratio:.2f} | {target} | {met} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
