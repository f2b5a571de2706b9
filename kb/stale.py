"""Which studies are due for another look: their last review (or, if never reviewed, their addition) is too old.

Evidence moves on: a summary that was right two years ago may now miss a retraction or a larger trial. This report
lets maintainers work through the oldest entries first. It reads only the record dates, so an entry with other
problems still shows up here; entries whose dates cannot be read are reported as warnings for `kb validate` to
explain.

Example:

    >>> parse_age("6m").cutoff(datetime.date(2026, 8, 31))
    datetime.date(2026, 2, 28)
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kb.load import load_entry
from kb.problems import WARNING, Problem, ProblemError

_AGE = re.compile(r"^\s*([0-9]{1,4})\s*([dwmy])\s*$", re.IGNORECASE)
_UNIT_NAMES = {"d": "day", "w": "week", "m": "month", "y": "year"}


@dataclass(frozen=True)
class Age:
    """A span such as 30 days, 6 months or 1 year, counted back from a day in calendar terms."""

    count: int
    unit: str  # d, w, m or y

    def cutoff(self, today: datetime.date) -> datetime.date:
        if self.unit == "d":
            return today - datetime.timedelta(days=self.count)
        if self.unit == "w":
            return today - datetime.timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "y" else 1)
        year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
        month += 1
        return datetime.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        return f"{self.count} {_UNIT_NAMES[self.unit]}{'' if self.count == 1 else 's'}"


def parse_age(text: str) -> Age:
    """'30d', '6w', '12m' or '1y' as an `Age`; raises ValueError with a readable message otherwise."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not an age; write a number and a unit: 30d, 6w, 12m or 1y")
    return Age(int(match.group(1)), match.group(2).lower())


@dataclass(frozen=True)
class StaleEntry:
    path: str
    line: int
    id: str
    date: datetime.date
    days: int
    reviewed: bool  # False when the entry was never reviewed and `date` is when it was added

    def format(self) -> str:
        note = "" if self.reviewed else "; added then, never reviewed"
        return f"{self.path}:{self.line}: {self.id}: last reviewed {self.date.isoformat()} ({self.days} days ago{note})"


@dataclass
class StaleReport:
    cutoff: datetime.date
    checked: int
    stale: list[StaleEntry]
    problems: list[Problem]


def stale_entries(paths: Iterable[Path], age: Age, today: datetime.date | None = None) -> StaleReport:
    """Entries last reviewed (or added, when never reviewed) before `age` ago, oldest first."""
    today = today or datetime.date.today()
    cutoff = age.cutoff(today)
    stale, problems, checked = [], [], 0
    for path in paths:
        checked += 1
        try:
            found = _last_reviewed(path, today)
        except ProblemError as error:
            problems.append(error.problem)
            continue
        if found.date < cutoff:
            stale.append(found)
    stale.sort(key=lambda item: (item.date, item.path))
    return StaleReport(cutoff, checked, stale, problems)


def _last_reviewed(path: Path, today: datetime.date) -> StaleEntry:
    entry = load_entry(path)
    data = entry.data if isinstance(entry.data, dict) else {}
    record = data.get("record") if isinstance(data.get("record"), dict) else {}
    key = "reviewed" if "reviewed" in record else "added"
    line, col = entry.locate(("record", key))
    try:
        date = datetime.date.fromisoformat(str(record[key]))
    except (KeyError, ValueError):
        message = f"no readable record.{key} date, so its age is unknown"
        raise ProblemError(Problem(entry.path, line, col, WARNING, message, "run kb validate on it")) from None
    entry_id = data.get("id") if isinstance(data.get("id"), str) else Path(path).stem
    return StaleEntry(entry.path, line, entry_id, date, (today - date).days, key == "reviewed")
