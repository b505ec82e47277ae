"""The report's plain-language summary, written from the numbers.

:class:`NarrativeWriter` is the interface: anything with ``write(data) -> Narrative``. The
project ships one implementation, :class:`RuleBasedNarrative`: deterministic, no network,
every sentence built from :class:`~orchestration.reports.data.ReportData` with the fixed
rounding of :mod:`orchestration.reports.formatting`. Each :class:`Sentence` lists the
:class:`Fact` objects it shows (key, exact value, text as shown), so a test can recompute
every figure from the marts. An LLM-backed writer would implement the same protocol (and is
loaded by :func:`load_writer` from a ``module:attribute`` path); none ships with the project.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from orchestration import errors
from orchestration.reports import formatting as fmt
from orchestration.reports.data import ChannelRow, ReportData


@dataclass(frozen=True)
class Fact:
    """One figure in a sentence.

    ``key`` names what it is (e.g. ``("channel", "paid_search", "roi", "current")``), ``value``
    is the exact number (or date) behind it, ``shown`` the text as it appears in the sentence,
    ``kind`` its display rule: ``money``, ``ratio``, ``percent``, ``change`` (``rose 12%`` /
    ``fell 3%`` / ``was flat``), ``versus`` (``12% above`` / ``4% below`` / ``in line with``),
    ``count``, ``date`` or ``month``."""

    key: tuple[str, ...]
    value: float | date
    shown: str
    kind: str


@dataclass(frozen=True)
class Sentence:
    """A sentence and the facts it shows."""

    text: str
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Narrative:
    """The summary: a few sentences."""

    sentences: tuple[Sentence, ...]

    @property
    def text(self) -> str:
        """The sentences as one paragraph."""
        return " ".join(s.text for s in self.sentences)

    def markdown(self) -> str:
        """One bullet per sentence."""
        return "\n".join(f"- {s.text}" for s in self.sentences)


@runtime_checkable
class NarrativeWriter(Protocol):
    """Writes the narrative of a report. Implementations must not change the numbers."""

    def write(self, data: ReportData) -> Narrative:
        """The narrative for ``data``."""
        ...


class _Facts:
    """Formats figures for one sentence and records each as a :class:`Fact`."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def _add(self, key: tuple[str, ...], value: float | date, shown: str, kind: str) -> str:
        self.facts.append(Fact(key, value, shown, kind))
        return shown

    def money(self, key: tuple[str, ...], value: float) -> str:
        return self._add(key, value, fmt.money(value), "money")

    def ratio(self, key: tuple[str, ...], value: float) -> str:
        return self._add(key, value, fmt.ratio(value), "ratio")

    def percent(self, key: tuple[str, ...], value: float) -> str:
        return self._add(key, value, fmt.percent(value), "percent")

    def count(self, key: tuple[str, ...], value: float) -> str:
        return self._add(key, value, fmt.count(value), "count")

    def change(self, key: tuple[str, ...], value: float) -> str:
        return self._add(key, value, fmt.change_words(value), "change")

    def versus(self, key: tuple[str, ...], value: float) -> str:
        points = fmt.change_percent(value)
        shown = "in line with" if points == 0 else f"{abs(points)}% {'above' if points > 0 else 'below'}"
        return self._add(key, value, shown, "versus")

    def day(self, key: tuple[str, ...], value: date) -> str:
        return self._add(key, value, fmt.day(value), "date")

    def month(self, key: tuple[str, ...], value: date) -> str:
        return self._add(key, value, fmt.month(value), "month")

    def sentence(self, text: str) -> Sentence:
        return Sentence(text, tuple(self.facts))


def _moved(words: str, amount: str) -> str:
    """``rose 30%`` + ``400`` → ``rose 30% to 400``; ``was flat`` → ``was flat at 400``."""
    return f"{words} {'at' if words == 'was flat' else 'to'} {amount}"


def _direction(change: float | None) -> int:
    """-1, 0 or 1 as the rounded change shows it."""
    if change is None:
        return 0
    points = fmt.change_percent(change)
    return (points > 0) - (points < 0)


@dataclass(frozen=True)
class RuleBasedNarrative:
    """The default, deterministic writer: a sentence per finding, in a fixed order.

    1. total revenue, current vs previous period;
    2. overall ROI and spend;
    3. the channels whose ROI fell and rose the most (at most ``channel_movers``; only channels
       with at least ``min_spend_share`` of the spend in one of the periods, so a few units of
       spend do not make headlines);
    4. the channel bringing the most revenue;
    5. the best and weakest campaign by lifetime ROI;
    6. retention one month after the first purchase, newest complete cohort vs the one before;
    7. the segment bringing the most revenue (and the largest one, when different);
    8. the revenue forecast for the period ahead vs the last period.

    Sections without data are left out (the report shows a note there instead)."""

    channel_movers: int = 2
    min_spend_share: float = 0.05

    def write(self, data: ReportData) -> Narrative:
        """The narrative for ``data``."""
        parts: list[Sentence | None] = [
            self._revenue(data),
            self._roi(data),
            *self._channel_movers(data),
            self._top_channel(data),
            self._campaigns(data),
            self._retention(data),
            *self._segments(data),
            self._forecast(data),
        ]
        return Narrative(tuple(s for s in parts if s is not None))

    # ------------------------------------------------------------------ sentences

    @staticmethod
    def _window(f: _Facts, data: ReportData) -> str:
        days = f.count(("period", "days"), data.current.days)
        return f"the {days} days to {f.day(('period', 'end'), data.current.end)}"

    def _revenue(self, data: ReportData) -> Sentence:
        f = _Facts()
        cur, prev = data.totals_current.revenue, data.totals_previous.revenue
        window = self._window(f, data)
        amount = f.money(("kpi", "revenue", "current"), cur)
        if not data.has_previous:
            if data.data_start > data.previous.start:
                why = f"the data starts on {f.day(('period', 'data_start'), data.data_start)}"
                return f.sentence(f"Revenue was {amount} in {window}; {why}, so there is no previous period "
                                  "to compare with.")
            return f.sentence(f"Revenue was {amount} in {window}; the period before had no activity to "
                              "compare with.")
        change = fmt.relative_change(cur, prev)
        if change is None:
            return f.sentence(f"Revenue was {amount} in {window}, against none in the period before.")
        words = f.change(("kpi", "revenue", "change"), change)
        before = f.money(("kpi", "revenue", "previous"), prev)
        return f.sentence(f"Revenue {_moved(words, amount)} in {window}, from {before} in the period before.")

    def _roi(self, data: ReportData) -> Sentence | None:
        cur, prev = data.totals_current, data.totals_previous
        f = _Facts()
        if cur.roi is None:
            if cur.is_empty:
                return None
            return f.sentence(f"There was no spend in {self._window(f, data)}, so ROI is not defined.")
        roi = f.ratio(("kpi", "roi", "current"), cur.roi)
        if not data.has_previous or prev.roi is None:
            spend = f.money(("kpi", "spend", "current"), cur.spend)
            return f.sentence(f"Overall ROI was {roi} on spend of {spend}.")
        before = f.ratio(("kpi", "roi", "previous"), prev.roi)
        spend_change = fmt.relative_change(cur.spend, prev.spend)
        words = f.change(("kpi", "spend", "change"), spend_change)
        spend = f.money(("kpi", "spend", "current"), cur.spend)
        roi_moved = self._roi_moved(roi, before)
        joiner = "while" if _direction(cur.roi - prev.roi) * _direction(spend_change) < 0 else "and"
        return f.sentence(f"Overall ROI {roi_moved} {joiner} spend {_moved(words, spend)}.")

    @staticmethod
    def _roi_moved(current: str, previous: str) -> str:
        """``fell from 2.10 to 1.60``, ``rose from …``, or ``held at 2.10`` (compared as shown)."""
        if current == previous:
            return f"held at {current}"
        return f"{'rose' if float(current) > float(previous) else 'fell'} from {previous} to {current}"

    def _material(self, row: ChannelRow, data: ReportData) -> bool:
        """True when the channel's spend is at least ``min_spend_share`` of all spend in either period."""
        shares = [
            part.spend / whole.spend
            for part, whole in ((row.current, data.totals_current), (row.previous, data.totals_previous))
            if whole.spend > 0
        ]
        return bool(shares) and max(shares) >= self.min_spend_share

    def _channel_movers(self, data: ReportData) -> list[Sentence]:
        if not data.has_previous:
            return []
        movers = []
        for row in data.channels:
            if row.current.roi is None or row.previous.roi is None:
                continue
            if not self._material(row, data):
                continue
            if fmt.ratio(row.current.roi) == fmt.ratio(row.previous.roi):
                continue
            movers.append((row.current.roi - row.previous.roi, row))
        falls = sorted((m for m in movers if m[0] < 0), key=lambda m: (m[0], m[1].channel))
        rises = sorted((m for m in movers if m[0] > 0), key=lambda m: (-m[0], m[1].channel))
        picked = [*falls[:1], *rises[:1]][: self.channel_movers]
        picked.sort(key=lambda m: (-abs(m[0]), m[1].channel))
        sentences = []
        for _, row in picked:
            f = _Facts()
            key = ("channel", row.channel)
            roi = f.ratio((*key, "roi", "current"), row.current.roi)
            before = f.ratio((*key, "roi", "previous"), row.previous.roi)
            words = f.change((*key, "spend", "change"), row.spend_change)
            roi_moved = self._roi_moved(roi, before)
            joiner = "while" if _direction(row.current.roi - row.previous.roi) * _direction(row.spend_change) < 0 \
                else "and"
            sentences.append(f.sentence(
                f"{fmt.channel_label(row.channel, capital=True)} ROI {roi_moved} {joiner} spend {words}."
            ))
        return sentences

    def _top_channel(self, data: ReportData) -> Sentence | None:
        if not data.channels or data.channels[0].current.revenue <= 0 or data.channels[0].revenue_share is None:
            return None
        row = data.channels[0]
        f = _Facts()
        key = ("channel", row.channel)
        revenue = f.money((*key, "revenue", "current"), row.current.revenue)
        share = f.percent((*key, "revenue_share", "current"), row.revenue_share)
        return f.sentence(
            f"{fmt.channel_label(row.channel, capital=True)} brought the most revenue: {revenue}, {share} of the total."
        )

    def _campaigns(self, data: ReportData) -> Sentence | None:
        if not data.top_campaigns:
            return None
        f = _Facts()
        best = data.top_campaigns[0]
        text = (f"The best campaign by lifetime ROI is “{best.campaign_name}” "
                f"({fmt.channel_label(best.channel)}, ROI {f.ratio(('campaign', 'best', 'roi'), best.roi)})")
        worst = data.bottom_campaigns[0] if data.bottom_campaigns else None
        if worst is not None and worst != best:
            text += (f"; the weakest is “{worst.campaign_name}” "
                     f"({fmt.channel_label(worst.channel)}, ROI {f.ratio(('campaign', 'worst', 'roi'), worst.roi)})")
        return f.sentence(text + ".")

    def _retention(self, data: ReportData) -> Sentence | None:
        complete = sorted(
            (c for c in data.cohorts
             if c.months_since_first_purchase == 1 and not c.is_partial_month and c.retention_rate is not None),
            key=lambda c: c.cohort_month,
        )
        if not complete:
            return None
        f = _Facts()
        latest = complete[-1]
        rate = f.percent(("cohort", "latest", "retention_m1"), latest.retention_rate)
        cohort = f.month(("cohort", "latest", "month"), latest.cohort_month)
        text = f"Retention one month after the first purchase was {rate} for the {cohort} cohort"
        if len(complete) > 1:
            prior = complete[-2]
            before = f.percent(("cohort", "prior", "retention_m1"), prior.retention_rate)
            if before == rate:  # compared as shown, so the words never contradict the figures
                relation = "the same as"
            else:
                relation = "up from" if latest.retention_rate > prior.retention_rate else "down from"
            text += f", {relation} {before} for {f.month(('cohort', 'prior', 'month'), prior.cohort_month)}"
        return f.sentence(text + ".")

    def _segments(self, data: ReportData) -> list[Sentence]:
        usable = [s for s in data.segments if s.revenue_share is not None and s.customer_share is not None]
        if not usable:
            return []
        by_revenue = max(usable, key=lambda s: (s.revenue_share, -s.segment_id))
        largest = max(usable, key=lambda s: (s.customer_share, -s.segment_id))
        sentences = [self._segment_sentence(by_revenue, "brings the most revenue")]
        if largest.segment_id != by_revenue.segment_id:
            sentences.append(self._segment_sentence(largest, "is the largest"))
        return sentences

    @staticmethod
    def _segment_sentence(segment, claim: str) -> Sentence:
        f = _Facts()
        key = ("segment", str(segment.segment_id))
        customers = f.percent((*key, "customer_share"), segment.customer_share)
        revenue = f.percent((*key, "revenue_share"), segment.revenue_share)
        return f.sentence(
            f"The “{segment.segment_label}” segment {claim}: {customers} of customers, {revenue} of revenue."
        )

    def _forecast(self, data: ReportData) -> Sentence | None:
        summary = data.forecast.summary if data.forecast else None
        if summary is None:
            return None
        f = _Facts()
        total = f.money(("forecast", "revenue", "total"), summary.forecast_total)
        days = f.count(("forecast", "days"), summary.days)
        after = f.day(("forecast", "last_actual_day"), summary.last_actual_day)
        text = f"Revenue is forecast at {total} for the {days} days after {after}"
        change = summary.change
        if change is not None:
            versus = f.versus(("forecast", "revenue", "change"), change)
            actual = f.money(("forecast", "revenue", "actual_total"), summary.actual_total)
            text += f", {versus} the {actual} of the {days} days before"
        return f.sentence(text + ".")


def load_writer(spec: str | None) -> NarrativeWriter:
    """The writer named by ``spec`` (``package.module:attribute``; a class or factory called
    without arguments, or an instance), or :class:`RuleBasedNarrative` when ``spec`` is empty."""
    if not spec:
        return RuleBasedNarrative()
    module_name, _, attribute = spec.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute or "NarrativeWriter")
        writer = target() if isinstance(target, type) or (callable(target) and not hasattr(target, "write")) \
            else target
    except Exception as exc:  # any import or construction problem is the user's configuration
        raise errors.UserFacingError(
            f"Cannot load the narrative writer {spec!r} ({type(exc).__name__}: {exc}); set narrative_writer to "
            "'package.module:ClassName' or leave it empty for the built-in rule-based writer."
        ) from None
    if not isinstance(writer, NarrativeWriter):
        raise errors.UserFacingError(
            f"The narrative writer {spec!r} has no write(data) method; implement "
            "orchestration.reports.narrative.NarrativeWriter or leave narrative_writer empty."
        )
    return writer
