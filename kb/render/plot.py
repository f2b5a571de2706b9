"""Forest plots: the geometry of an inline SVG for the effect sizes (with 95% CIs) a study reports.

One plot per effect metric, since a Cohen's d and an odds ratio do not share an axis (the synthesis on term pages
draws one per outcome, comparison and metric family, with the pooled estimate as a diamond). Ratio metrics (odds,
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

from kb.model import RATIO_METRICS, Finding
from kb.render.common import number

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

# A narrow, stacked layout: each row's label on its own line(s) above its interval, so the plot needs no label
# column and stays readable at phone widths (the SVG scales to the column; 400 units keep text near 12 px at
# 390 px). Labels wrap onto a second line instead of being cut short.
WIDTH = 400
PLOT_LEFT, PLOT_RIGHT = 8, 236
VALUE_LEFT = 246  # "0.91 [0.52, 1.30]" starts here
TOP, LINE_HEIGHT, BAR_HEIGHT, AXIS_SPACE = 26, 16, 22, 44
LABEL_CHARS = 54  # per line, at the plot's 13-unit font
LABEL_LINES = 2
LOG_TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]


@dataclass(frozen=True)
class PlotItem:
    """One interval to draw: a study's effect, or a pooled estimate (drawn as a diamond)."""

    label: str
    value: float
    ci: tuple[float, float]
    pooled: bool = False


@dataclass(frozen=True)
class LabelLine:
    y: float
    text: str


@dataclass(frozen=True)
class PlotRow:
    label: str  # the label as shown (wrapped into `lines`); `full_label` goes into the tooltip
    full_label: str
    lines: list[LabelLine]
    y: float
    x: float
    x_low: float
    x_high: float
    value_text: str
    pooled: bool = False

    @property
    def diamond(self) -> str:
        """The polygon of a pooled estimate: its CI wide, its point at the centre."""
        return f"{self.x_low},{self.y} {self.x},{self.y - 7} {self.x_high},{self.y} {self.x},{self.y + 7}"


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class ForestPlot:
    id: str
    metric: str
    title: str
    log_scale: bool
    width: int
    height: int
    plot_left: int
    plot_right: int
    value_left: int
    axis_y: float
    null_x: float | None  # the line of no effect, when it lies on the axis
    rows: list[PlotRow]
    ticks: list[Tick]
    description: str  # a text alternative for screen readers


def forest_plots(findings: list[Finding], plot_id: str = "forest") -> list[ForestPlot]:
    """A study's plots: one per metric, a row per finding with an interval."""
    by_metric: dict[str, list[PlotItem]] = {}
    for finding in findings:
        effect = finding.effect
        if effect and effect.ci:
            label = finding.outcome + (f" ({effect.label})" if effect.label else "")
            by_metric.setdefault(effect.metric, []).append(PlotItem(label, effect.value, effect.ci))
    return [forest_plot(metric, items, f"{plot_id}-{metric}") for metric, items in by_metric.items()]


def effect_text(value: float, ci: tuple[float, float] | None) -> str:
    return f"{number(value)} [{number(ci[0])}, {number(ci[1])}]" if ci else number(value)


def forest_plot(metric: str, items: list[PlotItem], plot_id: str, title: str | None = None) -> ForestPlot:
    """The geometry of one plot; `metric` decides the scale (log for ratios), `title` names the axis."""
    log_scale = metric in RATIO_METRICS
    null = 1.0 if log_scale else 0.0
    points = [v for item in items for v in (*item.ci, item.value)]
    scale = _LogScale(points, null) if log_scale else _LinearScale(points, null)
    rows, y = [], TOP
    for item in items:
        wrapped = wrap_label(item.label)
        lines = [LabelLine(y + LINE_HEIGHT * (i + 1) - 4, text) for i, text in enumerate(wrapped)]
        y += LINE_HEIGHT * len(wrapped) + BAR_HEIGHT / 2
        rows.append(
            PlotRow(
                label=" ".join(wrapped),
                full_label=item.label,
                lines=lines,
                y=y,
                x=scale.x(item.value),
                x_low=scale.x(item.ci[0]),
                x_high=scale.x(item.ci[1]),
                value_text=effect_text(item.value, item.ci),
                pooled=item.pooled,
            )
        )
        y += BAR_HEIGHT / 2 + 4
    axis_y = y + 4
    title = title or METRIC_LABELS.get(metric, metric)
    described = "; ".join(f"{row.full_label}: {row.value_text}" for row in rows)
    return ForestPlot(
        id=plot_id,
        metric=metric,
        title=title,
        log_scale=log_scale,
        width=WIDTH,
        height=round(axis_y + AXIS_SPACE),
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        value_left=VALUE_LEFT,
        axis_y=axis_y,
        null_x=scale.x(null),
        rows=rows,
        ticks=scale.ticks(),
        description=f"Forest plot of {title.lower()} with 95% confidence intervals"
        + (" on a log scale" if log_scale else "")
        + f": {described}.",
    )


def wrap_label(label: str) -> list[str]:
    """The label in lines of at most LABEL_CHARS, at word breaks; only a label longer than LABEL_LINES lines
    is shortened (with an ellipsis; the tooltip and the text alternative keep it whole).

    >>> wrap_label("PTSD symptom severity (CAPS-5), MDMA-assisted therapy vs placebo with therapy")
    ['PTSD symptom severity (CAPS-5), MDMA-assisted therapy', 'vs placebo with therapy']
    """
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= LABEL_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > LABEL_LINES:
        lines = lines[:LABEL_LINES]
        lines[-1] = lines[-1][: LABEL_CHARS - 1].rstrip() + "…"
    return [line if len(line) <= LABEL_CHARS else line[: LABEL_CHARS - 1] + "…" for line in lines]


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
