"""Pure Altair builders: a frame in, a chart out; no queries and no Streamlit.

Charts take the frames ``data.py`` returns (money as Decimal, exact); they convert to float here,
at the last step, because Vega-Lite draws numbers. Legends sit under the plot and widths follow
the container, so every chart stays readable on a phone-width screen.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from decimal import Decimal

import altair as alt
import pandas as pd

from dashboards import kpis
from dashboards.catalog import DashboardSpec, Mart

HEIGHT = 260
AGING_BUCKETS = list(kpis.AGING_BUCKETS)
AGING_COLORS = ["#9ecae1", "#6baed6", "#fdae6b", "#f16913", "#a63603"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
STATUS_ORDER = ["draft", "submitted", "rejected", "accepted", "denied", "appealed", "partially_paid", "paid",
                "closed", "void"]
OUTCOMES = ["not appealed", "appealed, not overturned", "overturned on appeal", "written off"]
OUTCOME_COLORS = ["#bdbdbd", "#fd8d3c", "#31a354", "#de2d26"]
MONEY = "$,.2f"
PERCENT = ".1%"


def _rows_height(rows: int, per_row: int = 34, chrome: int = 120) -> int:
    """Height for a chart with one band per row: Streamlit fits axes, title and legend inside it."""
    return max(HEIGHT, per_row * rows + chrome)


def _floats(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_numeric(out[column].map(lambda v: None if v is None else float(v)), errors="coerce")
    return out


def _bottom_legend(title: str | None = None, columns: int = 3) -> alt.Legend:
    return alt.Legend(orient="bottom", title=title, direction="horizontal", columns=columns)


def payments_trend(frame: pd.DataFrame) -> alt.Chart:
    """Weekly payments received, stacked by source (columns week, source, amount)."""
    data = _floats(frame, ["amount"])
    # A week-wide band per bar (Vega's weeks start on Sunday, a day before ours: the band still spans it).
    return alt.Chart(data, title="Payments received per week").mark_bar(width=alt.RelativeBandSize(0.85)).encode(
        x=alt.X("week:T", timeUnit="yearweek", title=None, axis=alt.Axis(format="%b %d")),
        y=alt.Y("sum(amount):Q", title="Payments", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("source:N", legend=_bottom_legend("Source")),
        tooltip=[alt.Tooltip("week:T", title="Week of"), "source:N", alt.Tooltip("amount:Q", format=MONEY)],
    ).properties(height=HEIGHT)


def claims_pipeline(frame: pd.DataFrame) -> alt.Chart:
    """Claims by current status in lifecycle order (columns status, claims, charges)."""
    data = _floats(frame, ["charges"])
    order = [s for s in STATUS_ORDER if s in set(data["status"])] + sorted(set(data["status"]) - set(STATUS_ORDER))
    return alt.Chart(data, title="Claims pipeline (by current status)").mark_bar().encode(
        y=alt.Y("status:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("claims:Q", title="Claims"),
        color=alt.Color("status:N", sort=order, legend=None),
        tooltip=["status:N", "claims:Q", alt.Tooltip("charges:Q", title="Charges", format=MONEY)],
    ).properties(height=HEIGHT)


def ar_aging_stacked(frame: pd.DataFrame) -> alt.Chart:
    """A/R by aging bucket on each snapshot day, stacked (columns date, bucket, balance)."""
    data = _floats(frame, ["balance"])
    data["day"] = pd.to_datetime(data["date"]).dt.strftime("%d %b")
    days = list(dict.fromkeys(data.sort_values("date")["day"]))
    return alt.Chart(data, title="A/R by age (end of month and period end)").mark_bar().encode(
        x=alt.X("day:O", title=None, sort=days, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("balance:Q", stack="zero", title="A/R balance", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("bucket:N", sort=AGING_BUCKETS, legend=_bottom_legend("Days since service", 5),
                        scale=alt.Scale(domain=AGING_BUCKETS, range=AGING_COLORS)),
        order=alt.Order("bucket_order:Q"),
        tooltip=["day:O", "bucket:N", alt.Tooltip("balance:Q", format=MONEY)],
    ).transform_calculate(
        bucket_order=f"indexof({AGING_BUCKETS!r}, datum.bucket)"
    ).properties(height=HEIGHT)


def rate_trend(frame: pd.DataFrame, rate: str, title: str, target: float | None = None,
               target_label: str = "target") -> alt.LayerChart | alt.Chart:
    """A weekly rate as a line (columns week and ``rate``), with an optional target rule."""
    data = _floats(frame, [rate])
    line = alt.Chart(data, title=title).mark_line(point=True).encode(
        x=alt.X("week:T", title=None, axis=alt.Axis(format="%b %d")),
        y=alt.Y(f"{rate}:Q", title=None, axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("week:T", title="Week of"), alt.Tooltip(f"{rate}:Q", format=PERCENT)],
    )
    if target is None:
        return line.properties(height=HEIGHT)
    rule = alt.Chart(pd.DataFrame({"target": [target], "label": [target_label]})).mark_rule(
        strokeDash=[4, 4], color="#d62728").encode(y="target:Q", tooltip=["label:N", alt.Tooltip("target:Q", format=PERCENT)])
    return alt.layer(line, rule).properties(height=HEIGHT)


def forecast_band(history: pd.DataFrame, forecast: pd.DataFrame, names: dict[str, str]) -> alt.LayerChart:
    """Actual weekly payments, then the forecast with its 95 % and 80 % intervals, per series.

    ``history``: series_id, week, amount. ``forecast``: series_id, week, point, lo80, hi80, lo95, hi95.
    ``names`` maps series ids to labels ("" is the whole practice).
    """
    past = _floats(history, ["amount"]).assign(series=lambda d: d["series_id"].map(names))
    ahead = _floats(forecast, ["point", "lo80", "hi80", "lo95", "hi95"]).assign(
        series=lambda d: d["series_id"].map(names))
    x = alt.X("week:T", title=None, axis=alt.Axis(format="%b %d"))
    color = alt.Color("series:N", legend=_bottom_legend(None))
    band95 = alt.Chart(ahead).mark_area(opacity=0.15).encode(x=x, y="lo95:Q", y2="hi95:Q", color=color)
    band80 = alt.Chart(ahead).mark_area(opacity=0.3).encode(x=x, y="lo80:Q", y2="hi80:Q", color=color)
    point = alt.Chart(ahead).mark_line(strokeDash=[5, 3], point=True).encode(
        x=x, y=alt.Y("point:Q", title="Payments per week", axis=alt.Axis(format="$,.0f")), color=color,
        tooltip=[alt.Tooltip("week:T", title="Week of"), "series:N",
                 alt.Tooltip("point:Q", title="Forecast", format=MONEY),
                 alt.Tooltip("lo80:Q", title="80% low", format=MONEY), alt.Tooltip("hi80:Q", title="80% high", format=MONEY),
                 alt.Tooltip("lo95:Q", title="95% low", format=MONEY), alt.Tooltip("hi95:Q", title="95% high", format=MONEY)])
    actual = alt.Chart(past).mark_line().encode(
        x=x, y="amount:Q", color=color,
        tooltip=[alt.Tooltip("week:T", title="Week of"), "series:N", alt.Tooltip("amount:Q", title="Actual", format=MONEY)])
    return alt.layer(band95, band80, actual, point).properties(height=HEIGHT, title="Payments per week and forecast")


def ar_by_payer(frame: pd.DataFrame) -> alt.Chart:
    """A/R by payer, stacked by aging bucket (columns payer, bucket, balance)."""
    data = _floats(frame, ["balance"])
    return alt.Chart(data, title="A/R by payer and age").mark_bar().encode(
        y=alt.Y("payer:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("sum(balance):Q", title="A/R balance", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("bucket:N", sort=AGING_BUCKETS, legend=_bottom_legend("Days since service", 5),
                        scale=alt.Scale(domain=AGING_BUCKETS, range=AGING_COLORS)),
        order=alt.Order("bucket_order:Q"),
        tooltip=["payer:N", "bucket:N", alt.Tooltip("sum(balance):Q", title="Balance", format=MONEY)],
    ).transform_calculate(bucket_order=f"indexof({AGING_BUCKETS!r}, datum.bucket)").properties(
        height=_rows_height(data["payer"].nunique(), 40, 150))


def denials_by_reason(frame: pd.DataFrame) -> alt.Chart:
    """Denials per CARC reason, stacked by what followed (columns reason, outcome, denials, denied_amount)."""
    data = _floats(frame, ["denied_amount"])
    return alt.Chart(data, title="Denials by CARC reason and outcome").mark_bar().encode(
        y=alt.Y("reason:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("sum(denials):Q", title="Denials"),
        color=alt.Color("outcome:N", legend=_bottom_legend("Outcome"),
                        scale=alt.Scale(domain=OUTCOMES, range=OUTCOME_COLORS)),
        tooltip=["reason:N", "outcome:N", alt.Tooltip("sum(denials):Q", title="Denials"),
                 alt.Tooltip("sum(denied_amount):Q", title="Denied", format=MONEY)],
    ).properties(height=_rows_height(data["reason"].nunique(), 40, 190))


def grouped_bars(frame: pd.DataFrame, category: str, measures: dict[str, str], title: str,
                 axis_title: str) -> alt.Chart:
    """Bars of several measures side by side per category; ``measures`` maps column to label."""
    data = _floats(frame, list(measures)).melt(id_vars=[category], value_vars=list(measures),
                                               var_name="measure", value_name="value")
    data["measure"] = data["measure"].map(measures)
    return alt.Chart(data, title=title).mark_bar().encode(
        y=alt.Y(f"{category}:N", title=None, axis=alt.Axis(labelOverlap=False)),
        yOffset="measure:N",
        x=alt.X("value:Q", title=axis_title),
        color=alt.Color("measure:N", legend=_bottom_legend(None)),
        tooltip=[f"{category}:N", "measure:N", alt.Tooltip("value:Q", format=",.1f")],
    ).properties(height=_rows_height(data[category].nunique(), 20 * len(measures) + 14, 140))


def histogram(frame: pd.DataFrame, category: str, count: str, order: Sequence[str], title: str) -> alt.Chart:
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X(f"{category}:O", sort=list(order), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{count}:Q", title=count.replace("_", " ").capitalize()),
        tooltip=[f"{category}:O", f"{count}:Q"],
    ).properties(height=HEIGHT)


def rates_by_month(frame: pd.DataFrame, rates: dict[str, str], title: str) -> alt.Chart:
    """Monthly rates as lines; a provisional month (services under 120 days old) gets its own point shape."""
    data = _floats(frame, list(rates)).melt(id_vars=["month", "provisional"], value_vars=list(rates),
                                            var_name="rate", value_name="value")
    data["rate"] = data["rate"].map(rates)
    data["label"] = pd.to_datetime(data["month"]).dt.strftime("%b %Y")
    data["basis"] = data["provisional"].map({True: "provisional (< 120 days)", False: "final"})
    months = list(dict.fromkeys(data.sort_values("month")["label"]))
    return alt.Chart(data, title=title).mark_line(point=alt.OverlayMarkDef(size=70, filled=True)).encode(
        x=alt.X("label:O", title=None, sort=months, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("rate:N", legend=_bottom_legend(None, 2)),
        shape=alt.Shape("basis:N", legend=_bottom_legend(None, 2)),
        tooltip=["label:O", "rate:N", alt.Tooltip("value:Q", format=PERCENT), "basis:N"],
    ).properties(height=HEIGHT + 40)


def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, title: str, *, x_title: str | None = None,
            value_format: str = PERCENT, x_sort: Sequence | None = None, tooltip: Sequence[str] = ()) -> alt.Chart:
    data = _floats(frame, [value])
    return alt.Chart(data, title=title).mark_rect().encode(
        x=alt.X(f"{x}:O", title=x_title, sort=list(x_sort) if x_sort is not None else "ascending",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{y}:N", title=None, axis=alt.Axis(labelOverlap=False)),
        color=alt.Color(f"{value}:Q", legend=alt.Legend(orient="bottom", format=value_format, title=None),
                        scale=alt.Scale(scheme="blues")),
        tooltip=[f"{y}:N", f"{x}:O", alt.Tooltip(f"{value}:Q", format=value_format), *tooltip],
    ).properties(height=_rows_height(data[y].nunique(), 36, 150))


def versus_peers(frame: pd.DataFrame, measure: str, label: str, fmt: str = ",.1f") -> alt.LayerChart:
    """One bar per provider with the peers' median as a rule (columns provider and ``measure``)."""
    data = _floats(frame, [measure])
    median = float(data[measure].median()) if len(data) else 0.0
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("provider:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X(f"{measure}:Q", title=label, axis=alt.Axis(format="%" if fmt.endswith("%") else ",.0f")),
        color=alt.condition(alt.datum[measure] >= median, alt.value("#3182bd"), alt.value("#9ecae1")),
        tooltip=["provider:N", alt.Tooltip(f"{measure}:Q", title=label, format=fmt)],
    )
    rule = alt.Chart(pd.DataFrame({"median": [median]})).mark_rule(strokeDash=[4, 4], color="#d62728").encode(
        x="median:Q", tooltip=[alt.Tooltip("median:Q", title="Peer median", format=fmt)])
    return alt.layer(bars, rule).properties(height=_rows_height(len(data), 30, 110), title=f"{label} vs peer median")


def mase_bars(frame: pd.DataFrame) -> alt.LayerChart:
    """Backtest MASE per method (columns method, mase); below 1 beats the naive scale."""
    data = _floats(frame, ["mase"])
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("method:N", sort="x", title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("mase:Q", title="MASE (lower is better)"),
        color=alt.Color("method:N", legend=None), tooltip=["method:N", alt.Tooltip("mase:Q", format=".3f")])
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return alt.layer(bars, rule).properties(height=_rows_height(len(data), 34, 110),
                                            title="Backtest error (rolling origin)")


def reliability(frame: pd.DataFrame) -> alt.LayerChart:
    """Observed no-show rate against mean predicted probability per decile; the diagonal is perfect."""
    data = _floats(frame, ["mean_predicted", "observed_rate"])
    top = float(max(data["mean_predicted"].max(), data["observed_rate"].max(), 0.05)) if len(data) else 1.0
    diagonal = alt.Chart(pd.DataFrame({"p": [0.0, top]})).mark_line(strokeDash=[4, 4], color="grey").encode(
        x="p:Q", y="p:Q")
    curve = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("mean_predicted:Q", title="Mean predicted probability", axis=alt.Axis(format="%")),
        y=alt.Y("observed_rate:Q", title="Observed no-show rate", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("mean_predicted:Q", format=PERCENT), alt.Tooltip("observed_rate:Q", format=PERCENT), "n:Q"])
    return alt.layer(diagonal, curve).properties(height=HEIGHT, title="Reliability (holdout deciles)")


_FORMATS = {"money": MONEY, "rate": PERCENT, "count": ",.0f", "number": ",.2f", "days": ",.1f"}
_AXIS_FORMATS = {"money": "$,.0f", "rate": "%", "count": ",.0f", "number": ",.1f", "days": ",.0f"}
_TIME_LABELS = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}


def custom(frame: pd.DataFrame, spec: DashboardSpec, mart: Mart) -> alt.Chart:
    """The chart of a custom dashboard. Columns are the registry's labels (``catalog.build_query``).

    Lines and areas put time on a continuous axis; bars and heatmaps show each period as a band
    (a month of daily ticks would make bars one pixel wide).
    """
    dims = [mart.dimension(k) for k in spec.dimensions]
    measures = [mart.measure(k) for k in spec.measures]
    data = _floats(frame, [m.label for m in measures])
    continuous_time = spec.chart in ("line", "area")
    for d in dims:
        if d.time and not continuous_time:
            data[d.label] = pd.to_datetime(data[d.label]).dt.strftime(_TIME_LABELS[d.key])
        elif not d.time:
            data[d.label] = data[d.label].astype(str)
    fmt, axis = _FORMATS[measures[0].fmt], alt.Axis(format=_AXIS_FORMATS[measures[0].fmt])

    def field(d) -> str:
        return f"{d.label}:{'T' if d.time and continuous_time else 'O' if d.time else 'N'}"

    if spec.chart == "heatmap":
        x, y = dims
        return alt.Chart(data).mark_rect().encode(
            x=alt.X(field(x), axis=alt.Axis(labelAngle=0) if not x.time else alt.Axis()),
            y=alt.Y(field(y), axis=alt.Axis(labelOverlap=False)),
            color=alt.Color(f"{measures[0].label}:Q", legend=alt.Legend(orient="bottom", format=fmt),
                            scale=alt.Scale(scheme="blues")),
            tooltip=[x.label, y.label, alt.Tooltip(f"{measures[0].label}:Q", format=fmt)],
        ).properties(height=_rows_height(data[y.label].nunique(), 30, 150))
    first = dims[0]
    x = alt.X(field(first), title=None, sort=None if first.time else "-y")
    if len(measures) > 1:  # one dimension, several measures: one colour per measure
        data = data.melt(id_vars=[first.label], value_vars=[m.label for m in measures], var_name="Measure",
                         value_name="Value")
        value, y, tips = "Value", alt.Y("Value:Q", title=None), ["Measure"]
        color = alt.Color("Measure:N", legend=_bottom_legend(None))
        offset = {"xOffset": "Measure:N"} if spec.chart == "bar" else {}
    else:
        value, tips, offset = measures[0].label, [], {}
        y = alt.Y(f"{value}:Q", axis=axis)
        color = alt.Color(f"{dims[1].label}:N", legend=_bottom_legend(None)) if len(dims) == 2 else alt.Undefined
        tips = [dims[1].label] if len(dims) == 2 else []
    chart = alt.Chart(data)
    chart = {"bar": chart.mark_bar(), "line": chart.mark_line(point=True), "area": chart.mark_area(opacity=0.8)}[
        spec.chart]
    return chart.encode(
        x=x, y=y, color=color, tooltip=[first.label, *tips, alt.Tooltip(f"{value}:Q", format=fmt)], **offset,
    ).properties(height=HEIGHT)


def decimal_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of exact decimals (money), to be shown with their cents."""
    return [c for c in frame.columns if frame[c].dtype == object and len(present := frame[c].dropna())
            and present.map(lambda v: isinstance(v, Decimal)).all()]


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that hold numbers (Decimal included), for an ad-hoc chart's value axis."""
    out = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            continue
        present = values.dropna()
        if pd.api.types.is_numeric_dtype(values) or (
                len(present) and present.map(lambda v: isinstance(v, Decimal)).all()):
            out.append(column)
    return out


def quick(frame: pd.DataFrame, x: str, y: str, mark: str = "bar", max_points: int = 5000) -> alt.Chart:
    """A chart of any query result: one column against a numeric one."""
    data = _floats(frame[[x, y]].head(max_points), [y])
    temporal = pd.api.types.is_datetime64_any_dtype(data[x])
    if not temporal:
        data[x] = data[x].astype(str)
    chart = alt.Chart(data)
    chart = chart.mark_bar() if mark == "bar" else chart.mark_line(point=True)
    return chart.encode(x=alt.X(f"{x}:{'T' if temporal else 'N'}", sort=None), y=alt.Y(f"{y}:Q"),
                        tooltip=[x, y]).properties(height=HEIGHT)


def png_available() -> bool:
    return importlib.util.find_spec("vl_convert") is not None


def to_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """PNG bytes of a chart (vl-convert renders Vega-Lite without a browser)."""
    import vl_convert

    return vl_convert.vegalite_to_png(chart.to_dict(), scale=scale)
