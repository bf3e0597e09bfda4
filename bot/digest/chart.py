"""The digest's chart: incidents opened per day by type (stacked bars) and the
time-to-resolve distribution (histogram), as one PNG.

Built with matplotlib's object API on the Agg canvas — no pyplot, so no global figure
state: the outbox worker's threads and the CLI can draw at the same time.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.digest.figures import RESOLVE_BUCKETS, WeekFigures
from bot.digest.schedule import IsoWeek
from bot.domain.types import OorType

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOURS = {
    OorType.PAYMENT_FAILURE.value: "#c0392b",
    OorType.TRANSACTION_INTERRUPTION.value: "#e67e22",
    OorType.AMOUNT_ERROR.value: "#8e44ad",
    OorType.SYSTEM_CRASH.value: "#2c3e50",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def render_chart(week: WeekFigures) -> bytes:
    """The PNG bytes for ``week``'s chart."""
    figure = Figure(figsize=(11, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    bars, histogram = figure.subplots(1, 2, width_ratios=(3, 2))

    days = IsoWeek.parse(week.week).days()
    labels = [f"{name}\n{day:%m-%d}" for name, day in zip(_DAYS, days, strict=True)]
    positions = list(range(len(labels)))
    bottom = [0] * len(labels)
    for oor_type in OorType:
        counts = week.per_day.get(oor_type.value, [0] * len(labels))
        bars.bar(
            positions,
            counts,
            bottom=bottom,
            label=oor_type.label,
            color=_COLOURS[oor_type.value],
            width=0.7,
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    bars.set_xticks(positions, labels)
    bars.set_ylabel("incidents opened")
    bars.set_title(f"Incidents per day by type — {week.week}")
    bars.yaxis.get_major_locator().set_params(integer=True)
    bars.legend(loc="upper center", ncols=4, fontsize="small", frameon=False)
    bars.set_ylim(0, max([*bottom, 1]) * 1.3 + 0.2)

    names = [label for label, _high in RESOLVE_BUCKETS]
    counts = week.resolve_buckets or [0] * len(names)
    histogram.bar(range(len(names)), counts, color="#2980b9", width=0.9)
    histogram.set_xticks(range(len(names)), names, rotation=30, ha="right")
    histogram.set_ylabel("incidents resolved")
    histogram.set_title("Time to resolve")
    histogram.yaxis.get_major_locator().set_params(integer=True)
    histogram.set_ylim(0, max([*counts, 1]) * 1.25)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
