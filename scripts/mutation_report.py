"""The mutation report: a score per module from mutmut's results, and every survivor either listed as equivalent
(with its reason) or named as not explained yet.

    python scripts/mutation_report.py [--results FILE] [--equivalents FILE] [--report FILE] [--modules "kb.a kb.b"]

`make mutation-report` runs it. It reads `mutmut results --all true` (or FILE), the list of equivalent mutants
(benchmarks/mutation-equivalents.txt: "## reason" lines, each followed by the mutant names it explains) and
rewrites the part of the report between `<!-- mutation:begin -->` and `<!-- mutation:end -->` (temporary file,
then rename). Score = (killed + timeout) / every mutant checked; "no tests" counts as a survivor. The second score
leaves out the survivors listed as equivalent, which no test can kill.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.atomic import write_atomic  # noqa: E402

BEGIN, END = "<!-- mutation:begin -->", "<!-- mutation:end -->"
MODULES = ("kb.references", "kb.doi", "kb.validate", "kb.render", "kb.build")
KILLED = ("killed", "timeout")
SURVIVED = ("survived", "no tests")


class ReportError(Exception):
    """Input the report cannot use, as one `path:line:col: message` line."""


@dataclass(frozen=True)
class ModuleScore:
    module: str
    counts: Counter  # status -> mutants
    listed: int  # survivors listed as equivalent

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def checked(self) -> int:
        return self.total - self.counts["not checked"]

    @property
    def killed(self) -> int:
        return sum(self.counts[status] for status in KILLED)

    def score(self) -> str:
        return _percent(self.killed, self.checked)

    def score_without_equivalents(self) -> str:
        return _percent(self.killed, self.checked - self.listed)


def _percent(part: int, whole: int) -> str:
    """
    >>> _percent(1, 3), _percent(0, 0)
    ('33.3%', 'not run')
    """
    return f"{100 * part / whole:.1f}%" if whole else "not run"


def parse_results(text: str) -> dict[str, str]:
    """mutmut's `results --all true` lines ("    kb.x.y__mutmut_1: killed") as name -> status.

    >>> parse_results("    kb.a.x_f__mutmut_1: killed\\n    kb.a.x_f__mutmut_2: no tests\\n")
    {'kb.a.x_f__mutmut_1': 'killed', 'kb.a.x_f__mutmut_2': 'no tests'}
    """
    results = {}
    for line in text.splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep and "__mutmut_" in name:
            results[name] = status.strip()
    return results


def parse_equivalents(text: str, path: str) -> dict[str, str]:
    """The list of equivalent mutants as name -> reason; a name before any reason, or listed twice, is an error."""
    reasons: dict[str, str] = {}
    where: dict[str, int] = {}
    reason = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("## "):
            reason = stripped[3:].strip()
        elif not stripped or stripped.startswith("#"):
            continue
        elif reason is None:
            raise ReportError(f"{path}:{number}:1: mutant '{stripped}' has no reason above it (a line '## why')")
        elif stripped in reasons:
            raise ReportError(f"{path}:{number}:1: '{stripped}' is listed twice (first on line {where[stripped]})")
        else:
            reasons[stripped], where[stripped] = reason, number
    return reasons


def module_of(name: str) -> str:
    """
    >>> module_of("kb.render.synthesis.x__plots__mutmut_8"), module_of("kb.build.x_serve__mutmut_1")
    ('kb.render', 'kb.build')
    """
    return ".".join(name.split(".")[:2])


def scores(results: dict[str, str], equivalents: dict[str, str], modules: list[str]) -> list[ModuleScore]:
    rows = []
    for module in modules:
        names = [name for name in results if module_of(name) == module]
        counts = Counter(results[name] for name in names)
        listed = sum(1 for name in names if results[name] in SURVIVED and name in equivalents)
        rows.append(ModuleScore(module, counts, listed))
    return rows


def unexplained(results: dict[str, str], equivalents: dict[str, str], modules: list[str]) -> list[str]:
    """Survivors that are neither killed nor listed as equivalent: the work left."""
    return sorted(n for n, s in results.items() if s in SURVIVED and n not in equivalents and module_of(n) in modules)


def stale(results: dict[str, str], equivalents: dict[str, str]) -> list[str]:
    """Listed as equivalent, but killed now (a new test) or gone (the code changed): to take off the list."""
    return sorted(name for name in equivalents if results.get(name) not in (*SURVIVED, "not checked"))


def report_block(results: dict[str, str], equivalents: dict[str, str], modules: list[str], date: str) -> str:
    rows = scores(results, equivalents, modules)
    lines = [
        f"Tabulated {date} by `make mutation-report` (scripts/mutation_report.py) from the results kept in mutants/"
        " and the equivalent mutants listed in benchmarks/mutation-equivalents.txt:",
        "",
        "| module | mutants | checked | killed | timeout | survived | no tests | survivors listed as equivalent "
        "| score | score without the listed equivalents |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        c = row.counts
        lines.append(
            f"| {row.module} | {row.total:,} | {row.checked:,} | {c['killed']:,} | {c['timeout']:,} | "
            f"{c['survived']:,} | {c['no tests']:,} | {row.listed:,} | **{row.score()}** | "
            f"{row.score_without_equivalents()} |"
        )
    left = unexplained(results, equivalents, modules)
    lines += ["", f"Survivors neither killed nor listed as equivalent: **{len(left)}**" + (":" if left else ".")]
    lines += [f"- `{name}`" for name in left]
    gone = stale(results, equivalents)
    if gone:
        lines += ["", f"Listed as equivalent but killed or gone now (to take off the list): {len(gone)}:"]
        lines += [f"- `{name}` ({results.get(name, 'not a mutant any more')})" for name in gone]
    return "\n".join(lines)


def replace_block(document: str, block: str, path: str) -> str:
    if document.count(BEGIN) != 1 or document.count(END) != 1 or document.index(BEGIN) > document.index(END):
        raise ReportError(f"{path}:1:1: needs one '{BEGIN}' line followed by one '{END}' line")
    head, rest = document.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ReportError(f"{path}:1:1: cannot read it: {error.strerror}") from None


def _mutmut_results() -> str:
    mutmut = Path(sys.executable).parent / "mutmut"
    try:
        done = subprocess.run(
            [str(mutmut), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as error:
        message = f"`mutmut results` failed ({error}); run `make mutation` first"
        raise ReportError(f"{ROOT / 'mutants'}:1:1: {message}") from None
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="mutmut's `results --all true` output (default: run it)")
    parser.add_argument("--equivalents", type=Path, default=ROOT / "benchmarks" / "mutation-equivalents.txt")
    parser.add_argument("--report", type=Path, default=ROOT / "benchmarks" / "MUTATION.md")
    parser.add_argument("--modules", default=" ".join(MODULES), help="the modules, in the table's order")
    args = parser.parse_args(argv)
    try:
        results = parse_results(_read(args.results) if args.results else _mutmut_results())
        equivalents = parse_equivalents(_read(args.equivalents), str(args.equivalents))
        date = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        block = report_block(results, equivalents, args.modules.split(), date)
        write_atomic(args.report, replace_block(_read(args.report), block, str(args.report)))
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
