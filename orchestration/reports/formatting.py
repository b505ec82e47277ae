"""Display rounding of the report, fixed so a reader (or a test) can recompute every figure.

* money: whole units with thousands separators, ``1,234,568`` (``-1,235`` when negative);
* ratios (ROI, ROAS): two decimals, ``2.10`` (``-0.35``);
* shares and rates: whole percent, ``34%``;
* changes: whole percent of the previous value, as a word and a magnitude, ``rose 12%``,
  ``fell 3%``, or ``was flat`` when the rounded change is 0 %;
* dates: ISO, ``2024-06-30``; months ``2024-06``.

Rounding is half away from zero on the decimal value (not binary float rounding), so
``2.675`` shows as ``2.68``.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

DASH = "–"


def _rounded(value: float, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def money(value: float | None) -> str:
    """``1234567.8`` → ``1,234,568``; None → an en dash."""
    if value is None:
        return DASH
    rounded = _rounded(value, 0)
    return f"{rounded + 0:,.0f}"  # "+ 0" turns -0 into 0


def ratio(value: float | None) -> str:
    """``2.1`` → ``2.10``; None → an en dash."""
    if value is None:
        return DASH
    rounded = _rounded(value, 2)
    return f"{rounded + 0:.2f}"


def count(value: float | None) -> str:
    """``1234.4`` → ``1,234``; None → an en dash."""
    return money(value)


def percent(value: float | None) -> str:
    """A share or rate as whole percent: ``0.3449`` → ``34%``; None → an en dash."""
    if value is None:
        return DASH
    return f"{_rounded(value * 100, 0) + 0:.0f}%"


def change_percent(change: float) -> int:
    """A relative change as whole percent, rounded half away from zero: ``-0.125`` → ``-13``."""
    return int(_rounded(change * 100, 0))


def change_words(change: float) -> str:
    """``0.3`` → ``rose 30%``; ``-0.04`` → ``fell 4%``; ``0.004`` → ``was flat``."""
    points = change_percent(change)
    if points == 0:
        return "was flat"
    return f"{'rose' if points > 0 else 'fell'} {abs(points)}%"


def signed_percent(change: float | None) -> str:
    """A relative change for tables: ``0.3`` → ``+30%``, ``-0.04`` → ``-4%``, None → en dash."""
    if change is None:
        return DASH
    points = change_percent(change)
    return f"{points:+d}%" if points else "0%"


def signed_ratio(difference: float | None) -> str:
    """A difference of ratios for tables: ``0.123`` → ``+0.12``; None → an en dash."""
    if difference is None:
        return DASH
    rounded = _rounded(difference, 2) + 0
    return f"{rounded:+.2f}" if rounded else "0.00"


def day(value: date) -> str:
    """``date(2024, 6, 30)`` → ``2024-06-30``."""
    return value.isoformat()


def month(value: date) -> str:
    """``date(2024, 6, 1)`` → ``2024-06``."""
    return value.strftime("%Y-%m")


#: Channels whose display name is not their lower-cased key.
CHANNEL_NAMES = {"sms": "SMS"}


def channel_label(channel: str, capital: bool = False) -> str:
    """``paid_search`` → ``paid search`` (``Paid search`` with ``capital``); ``sms`` → ``SMS``."""
    text = CHANNEL_NAMES.get(channel, channel.replace("_", " "))
    return text[:1].upper() + text[1:] if capital else text


def relative_change(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / previous; None when either is missing or previous is 0."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)
