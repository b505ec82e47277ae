"""Calendar effects shared by the campaign and the order generators.

Daily demand = weekly factor × yearly factor × growth trend. The yearly factor has a
January lull, a summer dip (late July), a Q4 build-up, a Black-Friday-to-Cyber-Monday
spike and a Christmas-day trough. Orders also get an intraday (hour-of-day) profile.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

#: Monday .. Sunday. Weekdays sell more than weekends (mean weekend ≈ 0.86 of weekdays).
WEEKDAY_FACTORS = np.array([1.06, 1.08, 1.05, 1.02, 0.96, 0.84, 0.92])

#: Share of orders per hour of the day (normalised below): night trough, lunch and evening peaks.
HOURLY_PROFILE = np.array([
    0.20, 0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.50, 0.80, 1.00, 1.15, 1.20,
    1.35, 1.30, 1.15, 1.10, 1.10, 1.15, 1.25, 1.45, 1.55, 1.40, 1.00, 0.55,
])

#: Yearly growth of demand (exponential trend).
GROWTH_PER_YEAR = 0.20


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    nov1 = date(year, 11, 1)
    first_thursday = nov1 + timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def day_dates(start: date, days: int) -> np.ndarray:
    """``days`` consecutive dates from ``start`` as ``datetime64[D]``."""
    return np.datetime64(start, "D") + np.arange(days)


def weekly_factor(dates: np.ndarray) -> np.ndarray:
    """Day-of-week factor for ``datetime64[D]`` dates."""
    weekday = (dates.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
    return WEEKDAY_FACTORS[weekday]


def yearly_factor(dates: np.ndarray) -> np.ndarray:
    """Seasonal factor (≈1 on average, Q4 well above, summer below)."""
    years = dates.astype("datetime64[Y]")
    doy = (dates - years.astype("datetime64[D]")).astype("int64") + 1
    f = np.ones(len(dates))
    f -= 0.10 * np.exp(-0.5 * ((doy - 18) / 14) ** 2)   # January lull
    f -= 0.16 * np.exp(-0.5 * ((doy - 205) / 28) ** 2)  # summer dip
    f += 0.32 * np.exp(-0.5 * ((doy - 338) / 24) ** 2)  # Q4 build-up
    year_ints = years.astype("int64") + 1970
    for year in np.unique(year_ints):
        bf = np.datetime64(black_friday(int(year)), "D")
        offset = (dates - bf).astype("int64")
        f += np.select(
            [offset == 0, (offset == 1) | (offset == 2), offset == 3,
             (offset >= -4) & (offset <= -1)],
            [0.90, 0.45, 0.70, 0.20],
            0.0,
        )
        xmas = np.datetime64(date(int(year), 12, 25), "D")
        off_x = (dates - xmas).astype("int64")
        f *= np.select([off_x == 0, off_x == -1, off_x == 1], [0.35, 0.70, 0.80], 1.0)
    return f


def trend_factor(dates: np.ndarray, start: date) -> np.ndarray:
    """Exponential growth from ``start``."""
    t = (dates - np.datetime64(start, "D")).astype("int64") / 365.0
    return np.exp(GROWTH_PER_YEAR * t)


def daily_demand(start: date, days: int) -> np.ndarray:
    """Relative demand per day of the window (weekly × yearly × trend)."""
    dates = day_dates(start, days)
    return weekly_factor(dates) * yearly_factor(dates) * trend_factor(dates, start)


def hourly_probabilities() -> np.ndarray:
    """Probability of each hour of the day for an order."""
    return HOURLY_PROFILE / HOURLY_PROFILE.sum()
