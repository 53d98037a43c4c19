"""Mood analytics: summaries of a journal's entries as DataFrames, and seaborn plots of them.

Every summary takes the ``entries`` DataFrame of :meth:`Journal.read <emoj_lib.journal.Journal.read>`
(``pixels=False`` is enough) and returns a DataFrame; every ``plot_*`` function draws the matching summary
on ``ax`` (a new figure if None) and returns the axes. Conventions:

- Days, weeks and hours are those of ``local_time``, the wall-clock time where the entry was written (an
  entry at 9:00 in Tokyo counts as morning). Weeks start on Monday. Empty days and weeks inside the
  journal's span are kept (0 entries), so time axes have no holes.
- The *effective* emotion of an entry is the user's label when there is one, else the predicted emotion
  (``use_labels=False``: always the predicted one). An entry's *mood vector* is likewise the one-hot
  vector of the user's label, else the model's 7 probabilities.
- Emotions always come in :data:`~emoj_lib.labels.EMOTIONS` order, with the colours of
  :data:`EMOTION_COLORS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoj_lib.labels import EMOTIONS

EMOTION_COLORS: dict[str, str] = {
    "angry": "#d62728", "disgust": "#7f8c1d", "fear": "#9467bd", "happy": "#f2b701",
    "sad": "#1f77b4", "surprise": "#ff7f0e", "neutral": "#8c8c8c",
}
"""One colour per emotion, used by every plot."""

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PROBS = [f"p_{e}" for e in EMOTIONS]


def _need(entries: pd.DataFrame, *columns: str) -> None:
    if not isinstance(entries, pd.DataFrame):
        raise TypeError(f"expected the entries DataFrame (Journal.read().entries), got {type(entries).__name__}")
    missing = [c for c in columns if c not in entries.columns]
    if missing:
        raise ValueError(f"entries lack column(s) {missing} (expected the entries of Journal.read())")


def _local(entries: pd.DataFrame) -> pd.Series:
    """Return the wall-clock times of the entries (``local_time``, else ``timestamp`` without its zone)."""
    if "local_time" in entries.columns:
        return pd.to_datetime(entries["local_time"])
    _need(entries, "timestamp")
    t = pd.to_datetime(entries["timestamp"])
    return t.dt.tz_localize(None) if t.dt.tz is not None else t


def effective_emotion(entries: pd.DataFrame, *, use_labels: bool = True) -> pd.Series:
    """Return each entry's emotion: the user's label if any (and ``use_labels``), else the prediction.

    Returns
    -------
    pandas.Series
        Categorical over :data:`EMOTIONS`, indexed like ``entries``.

    """
    _need(entries, "emotion", *(["user_label"] if use_labels else []))
    predicted = pd.Categorical(entries["emotion"], categories=EMOTIONS)
    out = pd.Series(predicted, index=entries.index, name="emotion")
    if use_labels:
        label = pd.Series(pd.Categorical(entries["user_label"], categories=EMOTIONS), index=entries.index)
        out = label.where(label.notna(), out).astype(pd.CategoricalDtype(EMOTIONS)).rename("emotion")
    return out


def mood_vectors(entries: pd.DataFrame, *, use_labels: bool = True) -> pd.DataFrame:
    """Return each entry's mood vector: one-hot of the user's label if any, else the model's probabilities.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EMOTIONS`, indexed like ``entries``; every row sums to 1 (for a softmax model).

    """
    _need(entries, *_PROBS)
    out = pd.DataFrame(entries[_PROBS].to_numpy(dtype=np.float64), index=entries.index, columns=list(EMOTIONS))
    if use_labels:
        _need(entries, "user_label")
        codes = pd.Categorical(entries["user_label"], categories=EMOTIONS).codes
        labelled = codes >= 0
        out.iloc[labelled] = np.eye(len(EMOTIONS))[codes[labelled]]
    return out


def _dominant(counts: pd.DataFrame, mood: pd.DataFrame) -> pd.Series:
    """Most frequent emotion per row; ties go to the higher mean mood, then to EMOTIONS order."""
    score = counts.reindex(columns=list(EMOTIONS), fill_value=0) + 0.5 * mood.reindex(columns=list(EMOTIONS)).fillna(0)
    dom = score.to_numpy().argmax(axis=1)
    values = np.array(EMOTIONS, dtype=object)[dom]
    values[counts.sum(axis=1).to_numpy() == 0] = None
    return pd.Series(pd.Categorical(values, categories=EMOTIONS), index=counts.index, name="dominant")


def daily_mood(entries: pd.DataFrame, *, window: int = 7, use_labels: bool = True) -> pd.DataFrame:
    """Return the mood of every day: entry count, dominant emotion, mean and smoothed mood vectors.

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read().entries``.
    window : int
        Width in days of the rolling mean (days without entries are skipped by the mean).
    use_labels : bool
        Count the user's labels (default) or only the model's predictions.

    Returns
    -------
    pandas.DataFrame
        One row per calendar day from the first to the last entry (index ``day``); columns ``entries``,
        ``dominant`` (the most frequent effective emotion; ties go to the higher mean mood; NaN on empty
        days), the 7 emotions (the day's mean mood vector, NaN on empty days) and ``smooth_<emotion>``
        (their rolling mean over ``window`` days).

    """
    if not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be a positive number of days, got {window!r}")
    _need(entries, "emotion", *_PROBS)
    days = _local(entries).dt.normalize()
    emo = effective_emotion(entries, use_labels=use_labels)
    mood = mood_vectors(entries, use_labels=use_labels)
    smooth_cols = [f"smooth_{e}" for e in EMOTIONS]
    if entries.empty:
        out = pd.DataFrame(columns=["entries", "dominant", *EMOTIONS, *smooth_cols],
                           index=pd.DatetimeIndex([], name="day"))
        return out.astype({"entries": np.int64, "dominant": pd.CategoricalDtype(EMOTIONS),
                           **dict.fromkeys([*EMOTIONS, *smooth_cols], np.float64)})
    span = pd.date_range(days.min(), days.max(), freq="D", name="day")
    means = mood.groupby(days.to_numpy()).mean().reindex(span)
    counts = pd.crosstab(days.to_numpy(), emo.to_numpy()).reindex(index=span, columns=list(EMOTIONS), fill_value=0)
    out = pd.DataFrame({"entries": counts.sum(axis=1).astype(np.int64)}, index=span)
    out["dominant"] = _dominant(counts, means)
    out[list(EMOTIONS)] = means
    out[smooth_cols] = means.rolling(window, min_periods=1).mean().to_numpy()
    return out


def weekly_mix(entries: pd.DataFrame, *, use_labels: bool = True, normalize: bool = True) -> pd.DataFrame:
    """Return the emotion mix of every week (Monday to Sunday).

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read().entries``.
    use_labels : bool
        Count effective emotions (the user's label if any) or only predictions.
    normalize : bool
        Fractions of the week's entries (rows sum to 1; 0 for an empty week) or counts.

    Returns
    -------
    pandas.DataFrame
        Index ``week`` (the Monday of each week, from the first to the last entry), columns EMOTIONS.

    """
    emo = effective_emotion(entries, use_labels=use_labels)
    days = _local(entries).dt.normalize()
    weeks = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    if entries.empty:
        return pd.DataFrame(columns=list(EMOTIONS), index=pd.DatetimeIndex([], name="week"), dtype=np.float64)
    span = pd.date_range(weeks.min(), weeks.max(), freq="7D", name="week")
    counts = pd.crosstab(weeks.to_numpy(), emo.to_numpy()).reindex(index=span, columns=list(EMOTIONS), fill_value=0)
    counts.columns.name = None
    if not normalize:
        return counts.astype(np.int64)
    total = counts.sum(axis=1).replace(0, 1)
    return counts.div(total, axis=0)


def calendar_table(entries: pd.DataFrame, *, value: str = "count", use_labels: bool = True) -> pd.DataFrame:
    """Return a calendar: days of the week (rows, Mon..Sun) by weeks (columns, their Mondays).

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read().entries``.
    value : {"count", "dominant"}
        The number of entries of each day (0 if none), or its dominant emotion (as in
        :func:`daily_mood`; NaN if none).
    use_labels : bool
        For ``"dominant"``: count the user's labels or only predictions.

    Returns
    -------
    pandas.DataFrame
        7 rows (:data:`WEEKDAYS`) by one column per week of the journal's span.

    """
    if value not in ("count", "dominant"):
        raise ValueError(f"value must be 'count' or 'dominant', got {value!r}")
    daily = daily_mood(entries, window=1, use_labels=use_labels)
    column = "entries" if value == "count" else "dominant"
    if daily.empty:
        return pd.DataFrame(index=pd.Index(WEEKDAYS, name="weekday"), columns=pd.DatetimeIndex([], name="week"))
    day = daily.index
    week = day - pd.to_timedelta(day.day_of_week, unit="D")
    frame = pd.DataFrame({"weekday": np.array(WEEKDAYS)[day.day_of_week], "week": week,
                          "value": daily[column].astype(object).to_numpy()})
    table = frame.pivot(index="weekday", columns="week", values="value").reindex(list(WEEKDAYS))
    table.index.name = "weekday"
    if value == "count":
        return table.fillna(0).astype(np.int64)
    return table.astype(object).where(table.notna(), np.nan)


def time_of_day(entries: pd.DataFrame, *, hours: int = 3, use_labels: bool = True,
                normalize: bool = False) -> pd.DataFrame:
    """Return the emotions by time of day, in buckets of ``hours`` hours.

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read().entries``.
    hours : int
        Bucket width; must divide 24 (``3``: 00-03, 03-06, ...).
    use_labels : bool
        Count effective emotions (the user's label if any) or only predictions.
    normalize : bool
        Fractions of each bucket's entries (rows sum to 1; 0 for an empty bucket) or counts.

    Returns
    -------
    pandas.DataFrame
        Index ``hours`` (``"00-03"``, ...; every bucket, even empty), columns EMOTIONS.

    """
    if not isinstance(hours, int | np.integer) or hours < 1 or 24 % hours:
        raise ValueError(f"hours must be a whole number of hours dividing 24, got {hours!r}")
    emo = effective_emotion(entries, use_labels=use_labels)
    names = [f"{h:02d}-{h + hours:02d}" for h in range(0, 24, hours)]
    bucket = pd.Categorical.from_codes((_local(entries).dt.hour // hours).to_numpy(dtype=np.int64), names) \
        if len(entries) else pd.Categorical([], categories=names)
    counts = pd.crosstab(pd.Series(bucket, name="hours"), pd.Series(emo.to_numpy(), name="emotion"), dropna=False)
    counts = counts.reindex(index=names, columns=list(EMOTIONS), fill_value=0).astype(np.int64)
    counts.index.name, counts.columns.name = "hours", None
    if not normalize:
        return counts
    return counts.div(counts.sum(axis=1).replace(0, 1), axis=0)


def correction_table(entries: pd.DataFrame, *, normalize: bool = False) -> pd.DataFrame:
    """Return how the user labelled each prediction: predicted (rows) by user label (columns).

    Only labelled entries count; the diagonal holds confirmations, the rest corrections.

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read().entries``.
    normalize : bool
        Fractions of each predicted emotion's labelled entries (rows sum to 1, or 0 if none) or counts.

    Returns
    -------
    pandas.DataFrame
        7 x 7, index ``predicted``, columns ``user_label``, both in EMOTIONS order.

    """
    _need(entries, "emotion", "user_label")
    pred = pd.Categorical(entries["emotion"], categories=EMOTIONS)
    user = pd.Categorical(entries["user_label"], categories=EMOTIONS)
    keep = np.asarray(user.codes >= 0)
    table = pd.crosstab(pd.Series(pred[keep], name="predicted"), pd.Series(user[keep], name="user_label"),
                        dropna=False)
    table = table.reindex(index=list(EMOTIONS), columns=list(EMOTIONS), fill_value=0).astype(np.int64)
    table.index.name, table.columns.name = "predicted", "user_label"
    if not normalize:
        return table
    return table.div(table.sum(axis=1).replace(0, 1), axis=0)


def correction_rate(entries: pd.DataFrame) -> pd.DataFrame:
    """Return how often the user corrected the model, per predicted emotion and overall.

    Returns
    -------
    pandas.DataFrame
        Index ``predicted`` (the 7 emotions, then ``"all"``); columns ``entries`` (predictions),
        ``labelled`` (entries the user labelled), ``corrected`` (labelled with another emotion) and
        ``rate`` (``corrected / labelled``, NaN when nothing was labelled).

    """
    table = correction_table(entries)
    _need(entries, "emotion")
    predicted = pd.Categorical(entries["emotion"], categories=EMOTIONS)
    out = pd.DataFrame({
        "entries": pd.Series(predicted).value_counts().reindex(list(EMOTIONS), fill_value=0).to_numpy(),
        "labelled": table.sum(axis=1).to_numpy(),
        "corrected": (table.sum(axis=1) - np.diag(table)).to_numpy(),
    }, index=pd.Index(list(EMOTIONS), name="predicted")).astype(np.int64)
    out.loc["all"] = out.sum()
    out["rate"] = out["corrected"] / out["labelled"].where(out["labelled"] > 0)
    return out


PERIODS = {"day": "D", "week": "W-SUN", "month": "MS"}
"""The periods of :func:`mood_mix`: pandas frequencies (weeks run Monday to Sunday, months from their first)."""


def mood_period(entries: pd.DataFrame) -> str:
    """Return the period a chart of these entries reads best in: day (up to 6 weeks), week (a year), else month."""
    if entries.empty:
        return "day"
    days = _local(entries).dt.normalize()
    span = (days.max() - days.min()).days + 1
    return "day" if span <= 42 else "week" if span <= 371 else "month"


def mood_mix(entries: pd.DataFrame, period: str | None = None, *, use_labels: bool = True) -> pd.DataFrame:
    """Return how many entries of each emotion every day, week or month has (the empty ones included).

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read().entries``.
    period : {"day", "week", "month"}, optional
        Default :func:`mood_period`.
    use_labels : bool
        Count effective emotions (your label if any) or only the model's readings.

    Returns
    -------
    pandas.DataFrame
        Index ``start`` (the first day of each period, from the first entry's to the last's), columns EMOTIONS
        (counts).

    """
    period = period or mood_period(entries)
    if period not in PERIODS:
        raise ValueError(f"period must be one of {tuple(PERIODS)}, got {period!r}")
    if entries.empty:
        return pd.DataFrame(columns=list(EMOTIONS), index=pd.DatetimeIndex([], name="start"), dtype=np.int64)
    days = _local(entries).dt.normalize()
    if period == "week":
        starts = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
        span = pd.date_range(starts.min(), starts.max(), freq="7D", name="start")
    elif period == "month":
        starts = days.dt.to_period("M").dt.to_timestamp()
        span = pd.date_range(starts.min(), starts.max(), freq="MS", name="start")
    else:
        starts = days
        span = pd.date_range(days.min(), days.max(), freq="D", name="start")
    emo = effective_emotion(entries, use_labels=use_labels)
    counts = pd.crosstab(starts.to_numpy(), emo.to_numpy()).reindex(index=span, columns=list(EMOTIONS), fill_value=0)
    counts.columns.name = None
    return counts.astype(np.int64)


# ------------------------------------------------------------------------------------------------- plots

MIN_DAYS_FOR_TRENDS = 3
"""Fewest days with entries before :func:`plot_mood` draws a chart over time (before: your entries so far)."""

MIN_ENTRIES_FOR_PATTERNS = 5
"""Fewest entries before the time-of-day chart is drawn (fewer would be noise)."""

MIN_LABELLED_FOR_CORRECTIONS = 3
"""Fewest entries you labelled before the corrections chart is drawn."""

CALENDAR_WEEKS = 53
"""The calendar shows at most this many weeks (the latest)."""


def _axes(ax, figsize: tuple[float, float]):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _say(ax, title: str, message: str):
    """Write a plain sentence instead of a chart (no axes, no noise)."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.3", wrap=True)
    ax.set_title(title)
    ax.set_axis_off()
    return ax


def _empty(ax, title: str):
    return _say(ax, title, "no entries yet")


def _legend(ax, emotions) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="emotion", reverse=True) \
        if emotions else None


def _stacked_bars(ax, counts: pd.DataFrame, x, width) -> list[str]:
    """Draw stacked bars of emotion counts; return the emotions drawn (those with any entry)."""
    bottom = np.zeros(len(counts))
    drawn = []
    for e in EMOTIONS:
        values = counts[e].to_numpy(dtype=float)
        if values.sum() == 0:
            continue
        ax.bar(x, values, bottom=bottom, color=EMOTION_COLORS[e], label=e, width=width, align="edge")
        bottom += values
        drawn.append(e)
    return drawn


def _so_far(entries: pd.DataFrame, ax, use_labels: bool):
    """Draw a new journal's mean mood as horizontal bars, and say when the chart over time appears."""
    mood = mood_vectors(entries, use_labels=use_labels).mean()
    n = len(entries)
    top = mood.idxmax()
    y = np.arange(len(EMOTIONS))[::-1]
    ax.barh(y, mood.to_numpy(), color=[EMOTION_COLORS[e] for e in EMOTIONS])
    ax.set_yticks(y, list(EMOTIONS))
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.set_xlabel("share of your mood (your labels; the model's reading where you gave none)")
    what = "entry" if n == 1 else f"{n} entries"
    ax.set_title(f"Your {what} so far: mostly {top} ({mood[top]:.0%})")
    ax.text(1.0, -0.32, f"A chart of how you feel over time appears once you have entries on "
            f"{MIN_DAYS_FOR_TRENDS} different days.", transform=ax.transAxes, ha="right", va="top", fontsize=8,
            color="0.35")
    return ax


def plot_mood(entries: pd.DataFrame, *, period: str | None = None, use_labels: bool = True, ax=None):
    """Plot how you felt over time: each day's (week's, month's) entries as bars stacked by emotion.

    With entries on fewer than :data:`MIN_DAYS_FOR_TRENDS` days, the chart shows the mood of the entries so far
    (one bar per emotion) and says when the chart over time appears.

    Parameters
    ----------
    entries : pandas.DataFrame
        ``Journal.read().entries``.
    period : {"day", "week", "month"}, optional
        The bars' period (default :func:`mood_period`: chosen from the journal's span).
    use_labels : bool
        Count your labels (default) or only the model's readings.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes

    """
    ax = _axes(ax, (10, 4))
    if entries.empty:
        return _empty(ax, "How you felt")
    if _local(entries).dt.normalize().nunique() < MIN_DAYS_FOR_TRENDS:
        return _so_far(entries, ax, use_labels)
    period = period or mood_period(entries)
    counts = mood_mix(entries, period, use_labels=use_labels)
    width = {"day": 1.0, "week": 7.0, "month": 28.0}[period] * 0.85
    drawn = _stacked_bars(ax, counts, counts.index, pd.Timedelta(days=width))
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import MaxNLocator

    locator = AutoDateLocator(maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"entries per {period}")
    ax.set_title(f"How you felt, {period} by {period} ({len(entries)} entries)")
    _legend(ax, drawn)
    return ax


def plot_weekly_mix(entries: pd.DataFrame, *, use_labels: bool = True, normalize: bool = True, ax=None):
    """Plot the emotion mix of every week as stacked bars (shares of the week's entries); return the axes.

    Shows the latest :data:`CALENDAR_WEEKS` weeks at most (the title says so).
    """
    ax = _axes(ax, (10, 4))
    title = "Your emotions, week by week"
    mix = weekly_mix(entries, use_labels=use_labels, normalize=normalize)
    if mix.empty:
        return _empty(ax, title)
    if len(mix) > CALENDAR_WEEKS:
        mix = mix.iloc[-CALENDAR_WEEKS:]
        title += f" (the last {CALENDAR_WEEKS})"
    x = np.arange(len(mix))
    drawn = _stacked_bars(ax, mix, x - 0.425, 0.85)
    step = max(1, -(-len(mix) // 12))
    ax.set_xticks(x[::step], [d.strftime("%d %b %y") for d in mix.index[::step]], rotation=45, ha="right")
    ax.set_xlim(-0.6, max(len(mix), 8) - 0.4)  # a few weeks keep bars of a readable width
    ax.set_xlabel("week starting on Monday")
    if normalize:
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter("{x:.0%}")
    ax.set_ylabel("share of the week's entries" if normalize else "entries")
    ax.set_title(title)
    _legend(ax, drawn)
    return ax


def plot_calendar(entries: pd.DataFrame, *, value: str = "dominant", use_labels: bool = True, ax=None):
    """Plot a calendar (weekdays by weeks): each day coloured by its main emotion, or by its number of entries.

    Shows the latest :data:`CALENDAR_WEEKS` weeks at most. See :func:`calendar_table` for ``value`` and
    ``use_labels``; a day's main emotion is the most frequent of its entries'.
    """
    import seaborn as sns
    from matplotlib.colors import ListedColormap

    title = "Each day's main emotion" if value == "dominant" else "Entries per day"
    table = calendar_table(entries, value=value, use_labels=use_labels)
    if table.shape[1] > CALENDAR_WEEKS:
        table = table.iloc[:, -CALENDAR_WEEKS:]
        title += f" (the last {CALENDAR_WEEKS} weeks)"
    ax = _axes(ax, (min(16.0, 3.5 + 0.3 * table.shape[1]), 3.2))
    if table.shape[1] == 0:
        return _empty(ax, title)
    step = max(1, -(-table.shape[1] // 13))
    labels = [d.strftime("%d %b") + (f"\n{d.year}" if i == 0 or (d.day <= 7 * step and d.month == 1) else "")
              if i % step == 0 else "" for i, d in enumerate(table.columns)]
    if value == "count":
        sns.heatmap(table.set_axis(labels, axis=1), cmap="Greens", linewidths=0.5, linecolor="white", square=True,
                    cbar_kws={"label": "entries"}, xticklabels=True, ax=ax)
    else:
        codes = table.apply(lambda col: pd.Categorical(col, categories=EMOTIONS).codes).astype(float)
        codes = codes.where(codes >= 0).set_axis(labels, axis=1)
        sns.heatmap(codes, cmap=ListedColormap([EMOTION_COLORS[e] for e in EMOTIONS]), vmin=-0.5,
                    vmax=len(EMOTIONS) - 0.5, linewidths=0.5, linecolor="white", square=True, xticklabels=True,
                    cbar=False, ax=ax)
        from matplotlib.patches import Patch

        seen = [e for e in EMOTIONS if (table == e).any().any()]
        ax.legend([Patch(color=EMOTION_COLORS[e]) for e in seen], seen, loc="upper left", bbox_to_anchor=(1.01, 1),
                  frameon=False, title="main emotion")
        ax.set_facecolor("#f4f4f4")  # days without entries
    ax.tick_params(axis="x", labelrotation=0, labelsize=8)
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_xlabel("week starting on Monday (grey: no entry)" if value == "dominant" else "week starting on Monday")
    ax.set_ylabel("")
    ax.set_title(title)
    return ax


def plot_time_of_day(entries: pd.DataFrame, *, hours: int = 3, use_labels: bool = True, normalize: bool = False,
                     ax=None):
    """Plot your emotions by time of day: bars stacked by emotion for each ``hours``-hour slot; return the axes.

    With fewer than :data:`MIN_ENTRIES_FOR_PATTERNS` entries the chart says so instead. ``normalize``: shares of
    each slot's entries instead of counts.
    """
    ax = _axes(ax, (8, 4))
    title = "When in the day you felt what"
    if len(entries) < MIN_ENTRIES_FOR_PATTERNS:
        return _say(ax, title, f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} so far: this chart needs "
                    f"{MIN_ENTRIES_FOR_PATTERNS} or more.") if len(entries) else _empty(ax, title)
    table = time_of_day(entries, hours=hours, use_labels=use_labels, normalize=normalize)
    x = np.arange(len(table))
    drawn = _stacked_bars(ax, table, x - 0.425, 0.85)
    ax.set_xticks(x, [f"{name.replace('-', ':00-')}:00" for name in table.index], fontsize=8)
    ax.set_xlabel("time of day (where you were)")
    ax.set_ylabel("share of the slot's entries" if normalize else "entries")
    if not normalize:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    _legend(ax, drawn)
    return ax


def plot_corrections(entries: pd.DataFrame, *, ax=None):
    """Plot how often you corrected the model: for each emotion it read, the share of your labels that differ.

    One horizontal bar per emotion the model read in entries you labelled, annotated "corrected of labelled";
    with fewer than :data:`MIN_LABELLED_FOR_CORRECTIONS` labelled entries the chart says so instead. The full
    table (what it read against your label) is :func:`correction_table`.
    """
    ax = _axes(ax, (8, 4))
    title = "How often you corrected the model"
    if entries.empty:
        return _empty(ax, title)
    rates = correction_rate(entries)
    total = rates.loc["all"]
    if total["labelled"] < MIN_LABELLED_FOR_CORRECTIONS:
        n = int(total["labelled"])
        return _say(ax, title, f"You labelled {n} entr{'y' if n == 1 else 'ies'} so far: this chart needs "
                    f"{MIN_LABELLED_FOR_CORRECTIONS} or more.")
    shown = rates.drop(index="all")
    shown = shown[shown["labelled"] > 0]
    y = np.arange(len(shown))[::-1]
    ax.barh(y, shown["rate"].to_numpy(), color=[EMOTION_COLORS[e] for e in shown.index], height=0.7)
    for yi, (_, row) in zip(y, shown.iterrows(), strict=True):
        ax.text(min(row["rate"], 1.0) + 0.01, yi, f"{int(row['corrected'])} of {int(row['labelled'])}", va="center",
                fontsize=8)
    ax.set_yticks(y, list(shown.index))
    ax.set_xlim(0, 1.15)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.set_ylabel("what the model read")
    ax.set_xlabel("share of your labels that corrected it")
    ax.set_title(f"{title}: {int(total['corrected'])} of {int(total['labelled'])} labelled entries "
                 f"({total['rate']:.0%})")
    return ax
