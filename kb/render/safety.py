"""View models of harms: a study's Safety section, and the "Reported harms" gathered on substance pages.

Counts are shown per arm against the arm's size where `sample.arms` gives it ("2 of 45"), so a reader sees a
rate, not a bare number.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.model import ArmCount, Study
from kb.render.common import RowCache, StudyRow


@dataclass(frozen=True)
class CountView:
    arm: str
    text: str  # "2 of 45" or "2"


@dataclass(frozen=True)
class SafetyView:
    summary: str
    serious: list[CountView]
    discontinuations: list[CountView]
    common: list[str]
    source: str | None


@dataclass(frozen=True)
class HarmsView:
    study: StudyRow
    safety: SafetyView


def safety_view(study: Study) -> SafetyView | None:
    """The study's harms ready to print, or None when its entry records none."""
    safety = study.safety
    if safety is None:
        return None
    arm_sizes = {arm.label: arm.n for arm in study.sample.arms}
    return SafetyView(
        summary=safety.summary,
        serious=[_count(count, arm_sizes) for count in safety.serious_adverse_events],
        discontinuations=[_count(count, arm_sizes) for count in safety.discontinuations],
        common=list(safety.common_adverse_events),
        source=safety.source,
    )


def _count(count: ArmCount, arm_sizes: dict[str, int]) -> CountView:
    size = arm_sizes.get(count.arm)
    return CountView(count.arm, f"{count.n} of {size}" if size else str(count.n))


def harms_view(study: Study, rows: RowCache) -> HarmsView:
    return HarmsView(rows(study), safety_view(study))
