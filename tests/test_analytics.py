"""Mood analytics: summaries of a tiny hand-made journal with known answers, and every plot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from emoj_lib.journal import (
    Entry,
    Journal,
    calendar_table,
    correction_rate,
    correction_table,
    daily_mood,
    effective_emotion,
    mood_vectors,
    plot_calendar,
    plot_corrections,
    plot_mood,
    plot_time_of_day,
    plot_weekly_mix,
    time_of_day,
    weekly_mix,
)
from emoj_lib.labels import EMOTIONS

CET, JST = timezone(timedelta(hours=1)), timezone(timedelta(hours=9))


def proba(emotion: str, p: float = 0.7) -> np.ndarray:
    v = np.full(7, (1 - p) / 6)
    v[EMOTIONS.index(emotion)] = p
    return v


# (local time, predicted, user label): Monday 3 March 2025 .. Sunday 16 March 2025
SPEC = [
    (datetime(2025, 3, 3, 8, 10, tzinfo=CET), "happy", None),
    (datetime(2025, 3, 3, 9, 0, tzinfo=CET), "happy", "happy"),  # confirmed
    (datetime(2025, 3, 3, 21, 30, tzinfo=CET), "sad", "angry"),  # corrected
    (datetime(2025, 3, 5, 14, 0, tzinfo=CET), "neutral", None),
    (datetime(2025, 3, 11, 23, 59, tzinfo=JST), "fear", "surprise"),  # 14:59 UTC: local time counts
    (datetime(2025, 3, 16, 7, 0, tzinfo=CET), "happy", None),
]


@pytest.fixture(scope="module")
def entries(tmp_path_factory) -> pd.DataFrame:
    journal = Journal(tmp_path_factory.mktemp("journal"), fsync=False)
    face = np.zeros((48, 48), np.uint8)
    for when, predicted, label in SPEC:
        e = journal.append(Entry(face, (0, 0, 48, 48), proba(predicted), "webcam", "m", "1", timestamp=when))
        if label is not None:
            journal.amend(e.entry_id, label=label)
    return journal.read(pixels=False).entries


@pytest.fixture
def empty(entries) -> pd.DataFrame:
    return entries.iloc[:0]


def test_effective_emotion_and_mood_vectors(entries):
    assert list(effective_emotion(entries)) == ["happy", "happy", "angry", "neutral", "surprise", "happy"]
    assert list(effective_emotion(entries, use_labels=False)) == ["happy", "happy", "sad", "neutral", "fear", "happy"]
    mood = mood_vectors(entries)
    np.testing.assert_allclose(mood.sum(axis=1), 1)
    assert mood.iloc[2]["angry"] == 1 and mood.iloc[0]["happy"] == pytest.approx(0.7)
    assert mood_vectors(entries, use_labels=False).iloc[2]["sad"] == pytest.approx(0.7)


def test_daily_mood(entries):
    daily = daily_mood(entries, window=1)
    assert len(daily) == 14 and daily.index[0] == pd.Timestamp("2025-03-03")
    assert daily["entries"].sum() == 6
    counts = daily["entries"][daily["entries"] > 0]
    assert counts.to_dict() == {pd.Timestamp("2025-03-03"): 3, pd.Timestamp("2025-03-05"): 1,
                                pd.Timestamp("2025-03-11"): 1, pd.Timestamp("2025-03-16"): 1}
    assert list(daily["dominant"].dropna()) == ["happy", "neutral", "surprise", "happy"]
    assert pd.isna(daily.loc["2025-03-04", "dominant"]) and pd.isna(daily.loc["2025-03-04", "happy"])
    monday = daily.loc["2025-03-03"]
    assert monday["happy"] == pytest.approx((0.7 + 1 + 0) / 3)
    assert monday["angry"] == pytest.approx((0.05 + 0 + 1) / 3)
    assert daily_mood(entries, use_labels=False).loc["2025-03-03", "happy"] == pytest.approx((0.7 + 0.7 + 0.05) / 3)
    smooth = daily_mood(entries, window=3)
    assert smooth.loc["2025-03-05", "smooth_neutral"] == pytest.approx(((0.05 + 0 + 0) / 3 + 0.7) / 2)
    assert smooth.loc["2025-03-03", "smooth_happy"] == pytest.approx(monday["happy"])


def test_dominant_ties_go_to_the_higher_mean(entries):
    sub = entries.iloc[[2, 3]].copy()  # an angry label and a neutral prediction on the same day
    sub["local_time"] = sub["local_time"].iloc[0]
    assert daily_mood(sub)["dominant"].iloc[0] == "angry"  # 1.0 + 0.05 > 0.7 + 0


def test_weekly_mix(entries):
    counts = weekly_mix(entries, normalize=False)
    assert list(counts.index) == [pd.Timestamp("2025-03-03"), pd.Timestamp("2025-03-10")]
    assert counts.loc["2025-03-03"].to_dict() == {**dict.fromkeys(EMOTIONS, 0), "happy": 2, "angry": 1, "neutral": 1}
    assert counts.loc["2025-03-10"].to_dict() == {**dict.fromkeys(EMOTIONS, 0), "surprise": 1, "happy": 1}
    shares = weekly_mix(entries)
    assert shares.loc["2025-03-03", "happy"] == 0.5 and shares.loc["2025-03-03", "angry"] == 0.25
    np.testing.assert_allclose(shares.sum(axis=1), 1)
    assert weekly_mix(entries, use_labels=False, normalize=False).loc["2025-03-03", "sad"] == 1


def test_calendar_table(entries):
    cal = calendar_table(entries)
    assert cal.shape == (7, 2) and list(cal.index) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    week1, week2 = cal.columns
    assert (cal.loc["Mon", week1], cal.loc["Wed", week1], cal.loc["Tue", week2], cal.loc["Sun", week2]) == (3, 1, 1, 1)
    assert cal.to_numpy().sum() == 6
    dom = calendar_table(entries, value="dominant")
    assert dom.loc["Mon", week1] == "happy" and dom.loc["Tue", week2] == "surprise" and pd.isna(dom.loc["Fri", week1])


def test_time_of_day(entries):
    table = time_of_day(entries, hours=6)
    assert list(table.index) == ["00-06", "06-12", "12-18", "18-24"]
    assert table.loc["06-12", "happy"] == 3 and table.loc["12-18", "neutral"] == 1
    assert table.loc["18-24", "angry"] == 1 and table.loc["18-24", "surprise"] == 1  # 23:59 in Tokyo
    assert table.loc["00-06"].sum() == 0 and table.to_numpy().sum() == 6
    shares = time_of_day(entries, hours=6, normalize=True)
    assert shares.loc["18-24", "angry"] == 0.5 and shares.loc["00-06"].sum() == 0
    assert len(time_of_day(entries)) == 8


def test_corrections(entries):
    table = correction_table(entries)
    assert table.shape == (7, 7) and table.to_numpy().sum() == 3
    assert table.loc["happy", "happy"] == 1 and table.loc["sad", "angry"] == 1 and table.loc["fear", "surprise"] == 1
    rate = correction_rate(entries)
    assert rate.loc["all", ["entries", "labelled", "corrected"]].tolist() == [6, 3, 2]
    assert rate.loc["all", "rate"] == pytest.approx(2 / 3)
    assert rate.loc["happy", ["entries", "labelled", "corrected", "rate"]].tolist() == [3, 1, 0, 0.0]
    assert rate.loc["sad", "rate"] == 1.0 and np.isnan(rate.loc["neutral", "rate"])
    assert correction_table(entries, normalize=True).loc["sad"].sum() == 1


def test_summaries_of_an_empty_journal(empty):
    assert daily_mood(empty).empty and weekly_mix(empty).empty
    assert calendar_table(empty).shape == (7, 0)
    assert time_of_day(empty).to_numpy().sum() == 0
    assert correction_table(empty).to_numpy().sum() == 0
    assert correction_rate(empty).loc["all", "labelled"] == 0


def test_arguments_are_checked(entries):
    with pytest.raises(ValueError, match="window"):
        daily_mood(entries, window=0)
    with pytest.raises(ValueError, match="divid"):
        time_of_day(entries, hours=5)
    with pytest.raises(ValueError, match="value"):
        calendar_table(entries, value="mean")
    with pytest.raises(ValueError, match="lack column"):
        correction_table(entries.drop(columns="user_label"))


PLOTS = [(plot_mood, {}), (plot_weekly_mix, {}), (plot_calendar, {}), (plot_calendar, {"value": "count"}),
         (plot_time_of_day, {}), (plot_corrections, {})]


@pytest.mark.parametrize(("plot", "options"), PLOTS, ids=lambda x: getattr(x, "__name__", str(x)))
def test_plots_return_axes(entries, empty, plot, options):
    _, ax = plt.subplots()
    assert plot(entries, ax=ax, **options) is ax
    assert ax.has_data() or ax.collections or ax.patches or ax.texts
    new = plot(entries, **options)
    assert isinstance(new, matplotlib.axes.Axes) and new is not ax
    blank = plot(empty, **options)
    assert isinstance(blank, matplotlib.axes.Axes) and any("no entries" in t.get_text() for t in blank.texts)
    plt.close("all")


def test_weekly_mix_plot_stacks_bars(entries):
    ax = plot_weekly_mix(entries)
    assert len(ax.patches) == 4 * 2  # happy, angry, neutral, surprise: the emotions of the two weeks
    tops = {}
    for bar in ax.patches:
        tops[round(bar.get_x(), 3)] = max(tops.get(round(bar.get_x(), 3), 0), bar.get_y() + bar.get_height())
    assert all(v == pytest.approx(1) for v in tops.values())
    plt.close("all")


# --- charts a person reads at 1, 10 and 1,000 entries --------------------------------------------------------------


def synthetic_entries(n: int, folder, seed: int = 0) -> pd.DataFrame:
    """A journal of ``n`` entries over about ``1.1 n`` days (one day for n=1), 40% labelled, read back."""
    rng = np.random.default_rng(seed)
    journal = Journal(folder, fsync=False)
    start = datetime(2025, 1, 6, 8, tzinfo=CET)
    for _ in range(n):
        when = start + timedelta(days=float(rng.uniform(0, 1.1 * n)) if n > 1 else 0,
                                 hours=float(rng.integers(0, 14)))
        label = EMOTIONS[rng.integers(7)] if rng.random() < 0.4 else None
        journal.append(Entry(np.zeros((48, 48), np.uint8), (0, 0, 48, 48), rng.dirichlet(np.full(7, 0.5)), "file",
                             "m", "1", timestamp=when, user_label=label))
    return journal.read(pixels=False).entries


@pytest.fixture(scope="module")
def journals(tmp_path_factory) -> dict[int, pd.DataFrame]:
    return {n: synthetic_entries(n, tmp_path_factory.mktemp(f"j{n}")) for n in (1, 10, 1000)}


def texts(ax) -> str:
    """Every text of a chart: title, axis words, tick labels, notes and the legend."""
    words = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
    words += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    if ax.get_legend() is not None:
        words += [t.get_text() for t in ax.get_legend().get_texts()]
    return " | ".join(words)


def bar_total(ax) -> float:
    return sum(p.get_height() for p in ax.patches)


def draw(plot, entries, **options):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.5, 3.8), layout="constrained")
    ax = plot(entries, ax=fig.subplots(), **options)
    fig.canvas.draw()  # layout and rendering must work too
    return ax


def test_mood_chart_at_1_10_and_1000_entries(journals):
    one = draw(plot_mood, journals[1])
    emotion = effective_emotion(journals[1]).iloc[0]
    assert one.get_title().startswith("Your entry so far: mostly")
    assert "entries on 3 different days" in texts(one)  # says plainly when the chart over time appears
    assert len(one.patches) == 7 and max(p.get_width() for p in one.patches) <= 1
    assert one.get_title().split("mostly ")[1].split(" (")[0] == mood_vectors(journals[1]).iloc[0].idxmax()
    assert emotion in EMOTIONS

    ten = draw(plot_mood, journals[10])
    assert ten.get_title() == "How you felt, day by day (10 entries)" and ten.get_ylabel() == "entries per day"
    assert bar_total(ten) == pytest.approx(10)  # every entry is one unit of a stacked bar
    legend = [t.get_text() for t in ten.get_legend().get_texts()]
    assert set(legend) == set(effective_emotion(journals[10]).astype(str))  # only the emotions present

    many = draw(plot_mood, journals[1000])
    assert many.get_title() == "How you felt, month by month (1000 entries)"
    assert bar_total(many) == pytest.approx(1000) and len(many.get_xticklabels()) <= 12
    assert "mean probability" not in texts(many) and "dominant" not in texts(many)


def test_calendar_weekly_time_and_corrections_at_1_10_and_1000_entries(journals):
    cal = draw(plot_calendar, journals[1])
    assert cal.get_title() == "Each day's main emotion" and "grey: no entry" in cal.get_xlabel()
    assert [t.get_text() for t in cal.get_legend().get_texts()] == [effective_emotion(journals[1]).iloc[0]]
    cal = draw(plot_calendar, journals[1000])
    assert cal.get_title() == "Each day's main emotion (the last 53 weeks)"
    assert 0 < sum(bool(t.get_text()) for t in cal.get_xticklabels()) <= 14

    week = draw(plot_weekly_mix, journals[10])
    tops = {}
    for bar in week.patches:
        tops[round(bar.get_x(), 3)] = max(tops.get(round(bar.get_x(), 3), 0), bar.get_y() + bar.get_height())
    assert len(tops) == len(weekly_mix(journals[10])) and all(v == pytest.approx(1) for v in tops.values())
    assert draw(plot_weekly_mix, journals[1000]).get_title().endswith("(the last 53)")

    assert "1 entry so far: this chart needs 5 or more." in texts(draw(plot_time_of_day, journals[1]))
    tod = draw(plot_time_of_day, journals[1000])
    assert bar_total(tod) == pytest.approx(1000) and tod.get_xticklabels()[0].get_text() == "00:00-03:00"

    labelled = int(journals[1]["user_label"].notna().sum())
    assert f"You labelled {labelled} entr" in texts(draw(plot_corrections, journals[1]))
    corr = draw(plot_corrections, journals[1000])
    rate = correction_rate(journals[1000]).loc["all"]
    assert corr.get_title() == (f"How often you corrected the model: {int(rate['corrected'])} of "
                                f"{int(rate['labelled'])} labelled entries ({rate['rate']:.0%})")
    widths = {t.get_text(): p.get_width() for t, p in zip(corr.get_yticklabels(), corr.patches, strict=True)}
    per = correction_rate(journals[1000])
    assert all(widths[e] == pytest.approx(per.loc[e, "rate"]) for e in widths)


# --- the HTML report ----------------------------------------------------------------------------------------------


def test_week_summary(entries):
    from emoj_lib.journal.report import week_summary

    weeks = week_summary(entries)
    assert list(weeks["week"]) == ["10 Mar 2025", "03 Mar 2025"]  # newest first
    assert list(weeks["entries"]) == [2, 4] and list(weeks["labelled by you"]) == [1, 2]
    assert weeks.loc[1, "main emotion"] == "happy" and weeks.loc[1, "mix"] == "happy 2, angry 1, neutral 1"


def test_html_report_is_self_contained_and_private(tmp_path):
    import html
    import re
    import stat

    from emoj_lib.journal.report import write_report

    journal = Journal(tmp_path / "journal", fsync=False)
    rng = np.random.default_rng(3)
    start = datetime(2025, 3, 3, 9, tzinfo=CET)
    for i in range(12):
        journal.append(Entry(rng.integers(0, 256, (48, 48), dtype=np.uint8), (0, 0, 48, 48), proba(EMOTIONS[i % 7]),
                             "upload", "m", "1", timestamp=start + timedelta(days=i),
                             user_label="sad" if i % 3 else None,
                             note='<script>alert("x")</script> & more' if i == 4 else f"day {i}", tags=("work",)))
    (tmp_path / "out").mkdir()
    path = write_report(journal, tmp_path / "out" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "<script" not in text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in text
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)  # nothing fetched: it opens offline
    assert text.count('alt="face" src="data:image/png;base64,') == 12  # every entry with its face
    assert sum(f'alt="{html.escape(h)}" src="data:image/png;base64,' in text for h in
               ("How you felt", "Each day's main emotion", "Week by week", "Time of day", "Corrections")) == 5
    assert "12 entries from 03 March 2025 to 14 March 2025; 8 labelled by you" in text
    assert text.index("day 11") < text.index("day 10")  # newest first
    assert "Each week in numbers" in text and "<td>10 Mar 2025</td>" in text
    empty = write_report(journal.read().entries.iloc[:0], tmp_path / "out" / "empty.html")
    assert "No entries yet." in empty.read_text(encoding="utf-8")
