"""Forest plots: the geometry of an inline SVG for the effect sizes (with 95% CIs) a study reports.

One plot per effect metric, since a Cohen's d and an odds ratio do not share an axis. Ratio metrics (odds,
risk and hazard ratios) use a log scale centred on 1, the others a linear scale around 0. Only findings with
both a value and a confidence interval are drawn; the outcome table lists the rest.

Example:

    >>> from kb.model import Effect, Finding
    >>> plot = forest_plots([Finding("PTSD", "improved", "s", effect=Effect("cohen_d", 0.9, (0.5, 1.3)))])[0]
    >>> plot.title, len(plot.rows), plot.null_x is not None
    ("Cohen's d", 1, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kb.model import Finding
from kb.render.common import number
from kb.validate.rules import RATIO_METRICS

METRIC_LABELS = {
    "cohen_d": "Cohen's d",
    "hedges_g": "Hedges' g",
    "smd": "Standardised mean difference",
    "mean_difference": "Mean difference",
    "odds_ratio": "Odds ratio",
    "risk_ratio": "Risk ratio",
    "hazard_ratio": "Hazard ratio",
    "risk_difference": "Risk difference",
    "eta_squared": "Eta squared (η²)",
    "r": "Correlation (r)",
}

WIDTH = 720
LABEL_RIGHT = 270  # outcome labels end here (right-aligned)
PLOT_LEFT, PLOT_RIGHT = 290, 560
VALUE_LEFT = 575  # "0.91 [0.52, 1.30]" starts here
TOP, ROW_HEIGHT, AXIS_SPACE = 34, 28, 44
LABEL_CHARS = 42
LOG_TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]


@dataclass(frozen=True)
class PlotRow:
    label: str  # shortened to fit; `full_label` goes into the tooltip
    full_label: str
    y: float
    x: float
    x_low: float
    x_high: float
    value_text: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class ForestPlot:
    metric: str
    title: str
    log_scale: bool
    width: int
    height: int
    plot_left: int
    plot_right: int
    label_right: int
    value_left: int
    axis_y: float
    null_x: float | None  # the line of no effect, when it lies on the axis
    rows: list[PlotRow]
    ticks: list[Tick]
    description: str  # a text alternative for screen readers


def forest_plots(findings: list[Finding]) -> list[ForestPlot]:
    by_metric: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.effect and finding.effect.ci:
            by_metric.setdefault(finding.effect.metric, []).append(finding)
    return [_plot(metric, group) for metric, group in by_metric.items()]


def effect_text(value: float, ci: tuple[float, float] | None) -> str:
    return f"{number(value)} [{number(ci[0])}, {number(ci[1])}]" if ci else number(value)


def _plot(metric: str, findings: list[Finding]) -> ForestPlot:
    log_scale = metric in RATIO_METRICS
    null = 1.0 if log_scale else 0.0
    points = [v for f in findings for v in (*f.effect.ci, f.effect.value)]
    scale = _LogScale(points, null) if log_scale else _LinearScale(points, null)
    rows = []
    for index, finding in enumerate(findings):
        effect = finding.effect
        label = finding.outcome + (f" ({effect.label})" if effect.label else "")
        rows.append(
            PlotRow(
                label=_shorten(label),
                full_label=label,
                y=TOP + ROW_HEIGHT * index + ROW_HEIGHT / 2,
                x=scale.x(effect.value),
                x_low=scale.x(effect.ci[0]),
                x_high=scale.x(effect.ci[1]),
                value_text=effect_text(effect.value, effect.ci),
            )
        )
    axis_y = TOP + ROW_HEIGHT * len(findings) + 6
    title = METRIC_LABELS[metric]
    described = "; ".join(f"{row.full_label}: {row.value_text}" for row in rows)
    return ForestPlot(
        metric=metric,
        title=title,
        log_scale=log_scale,
        width=WIDTH,
        height=round(axis_y + AXIS_SPACE),
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        label_right=LABEL_RIGHT,
        value_left=VALUE_LEFT,
        axis_y=axis_y,
        null_x=scale.x(null),
        rows=rows,
        ticks=scale.ticks(),
        description=f"Forest plot of {title.lower()} with 95% confidence intervals"
        + (" on a log scale" if log_scale else "")
        + f": {described}.",
    )


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


class _LinearScale:
    """Maps values to x between PLOT_LEFT and PLOT_RIGHT, with round-number ticks."""

    def __init__(self, values: list[float], null: float):
        low, high = min(*values, null), max(*values, null)
        if high == low:
            low, high = low - 1, high + 1
        self.step = _nice_step((high - low) / 4)
        self.low = math.floor(low / self.step) * self.step
        self.high = math.ceil(high / self.step) * self.step

    def position(self, value: float) -> float:
        return value

    def x(self, value: float) -> float:
        fraction = (self.position(value) - self.position(self.low)) / (
            self.position(self.high) - self.position(self.low)
        )
        return round(PLOT_LEFT + fraction * (PLOT_RIGHT - PLOT_LEFT), 1)

    def ticks(self) -> list[Tick]:
        count = round((self.high - self.low) / self.step)
        values = [self.low + i * self.step for i in range(count + 1)]
        return [Tick(self.x(v), number(round(v, 10))) for v in values]


class _LogScale(_LinearScale):
    def __init__(self, values: list[float], null: float):
        positive = [v for v in values if v > 0]
        low, high = min(*positive, null), max(*positive, null)
        candidates = [t for t in LOG_TICKS if low <= t <= high]
        self.low = max([t for t in LOG_TICKS if t <= low], default=low)
        self.high = min([t for t in LOG_TICKS if t >= high], default=high)
        self.values = sorted({self.low, *candidates, self.high})

    def position(self, value: float) -> float:
        return math.log10(max(value, 1e-9))

    def ticks(self) -> list[Tick]:
        values = self.values
        if len(values) > 7:  # keep the ends, the line of no effect and every other tick
            values = [v for i, v in enumerate(values) if i % 2 == 0 or v in (1, self.high)]
        return [Tick(self.x(v), number(v)) for v in values]


def _nice_step(rough: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten: axis steps a reader can count in."""
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
