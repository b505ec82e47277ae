"""Order lines (registered, guest checkout and cancellations) derived from the customers.

Definitions (also written to the manifest):

* an *order* is one ``order_id``; its lines share ``order_id``, ``customer_id``,
  ``ordered_at`` and ``country``; order ids are numbered in time order;
* a *cancellation* is an order whose id starts with ``C``: it is strictly later than an
  earlier order of the same customer and repeats some of that order's lines with
  negative quantity (at most the ordered quantity, same product and unit price);
* guest-checkout lines have an empty ``customer_id``;
* ``customers.transactions`` = number of distinct non-cancellation order ids of the
  customer; ``customers.revenue`` = Σ quantity × unit_price over **all** the customer's
  lines including cancellations (net revenue, exact in cents).

``DemoConfig.order_lines_target`` valid lines are written: 10 % guest lines, 2 %
cancellation lines, the rest registered (at least one line per registered order, so
a target below the number of orders is exceeded).

Orders are made per block of customers (:func:`block_orders`, the block's share of the
lines, guests and cancellations) as :data:`LINE_DTYPE` records without order ids; the
records of all blocks are sorted by time (``spill.py``) and :func:`lines_frame` numbers
the orders in that order and formats the file's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.demo.catalogue import Catalogue
from orchestration.demo.config import DemoConfig
from orchestration.demo.customers import COUNTRY_NAMES, COUNTRY_PROBS, CustomerDraw, format_customer_ids
from orchestration.demo.seasonality import hourly_probabilities
from orchestration.demo.segments import SEGMENTS
from orchestration.demo.timeline import days_between

ORDER_COLUMNS = [
    "order_id", "customer_id", "ordered_at", "quantity", "unit_price", "product",
    "product_name", "country",
]
GUEST_LINE_SHARE = 0.10
CANCEL_LINE_SHARE = 0.02
GUEST_LINES_PER_ORDER = 2.2
GUEST_QUANTITY_MEAN = 1.8
DISCOUNTED_LINE_SHARE = 0.7  # of the lines of segments with a discount
FIRST_ORDER_NUMBER = 100_000
SECONDS_PER_DAY = 86_400

#: One order line before numbering. ``ts``, ``uid`` identify the order (uid = block << 32 |
#: invoice index in the block: unique, so (ts, uid) orders invoices totally); ``seq`` keeps
#: the lines of an order in generation order.
LINE_DTYPE = np.dtype([
    ("ts", "<i8"), ("uid", "<i8"), ("seq", "<i4"), ("owner", "<i8"), ("cancel", "?"),
    ("product", "<i4"), ("quantity", "<i4"), ("price_cents", "<i8"), ("country", "<i2"),
])


@dataclass
class BlockOrders:
    """One block's order lines (:data:`LINE_DTYPE`) and the per-customer aggregates they imply."""

    lines: np.ndarray
    transactions: np.ndarray
    revenue_cents: np.ndarray
    stats: dict[str, int]


@dataclass
class _Invoices:
    """Invoices (orders and cancellations) and their lines, in generation order."""

    ts: np.ndarray  # seconds since the window start, per invoice
    owner: np.ndarray  # customer index in the block per invoice, -1 for guests
    country: np.ndarray  # per invoice, index into COUNTRY_NAMES
    is_cancel: np.ndarray  # per invoice
    line_invoice: np.ndarray  # per line: invoice index
    product: np.ndarray
    quantity: np.ndarray
    price_cents: np.ndarray


def _times(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Seconds since the window start: the day plus a time from the intraday profile."""
    hour = rng.choice(24, size=len(day), p=hourly_probabilities())
    return day * SECONDS_PER_DAY + hour * 3600 + rng.integers(0, 3600, len(day))


def _spread(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Distribute ``total`` units over len(weights) bins, probability ∝ weights."""
    if total <= 0 or len(weights) == 0:
        return np.zeros(len(weights), dtype=np.int64)
    picks = rng.choice(len(weights), size=total, p=weights / weights.sum())
    return np.bincount(picks, minlength=len(weights)).astype(np.int64)


def _placed(rng: np.random.Generator, cust: CustomerDraw, cat: Catalogue, demand_cum: np.ndarray,
            reg_lines: int, guest_lines: int) -> tuple[_Invoices, np.ndarray]:
    """Registered and guest orders with their lines; also returns lines per order."""
    owner = np.repeat(np.arange(len(cust.ids)), cust.n_orders)
    n_reg = len(owner)
    seg_of_order = cust.segment[owner]
    weight = np.array([s.lines_weight for s in SEGMENTS])[seg_of_order]
    reg_nlines = 1 + _spread(rng, max(reg_lines, n_reg) - n_reg, weight)

    n_guest = min(guest_lines, max(1, round(guest_lines / GUEST_LINES_PER_ORDER))) if guest_lines else 0
    guest_nlines = 1 + _spread(rng, guest_lines - n_guest, np.ones(n_guest))
    days = len(demand_cum) - 1
    guest_day = days_between(demand_cum, np.zeros(n_guest, np.int64),
                             np.full(n_guest, days - 1, np.int64), rng.random(n_guest))
    guest_country = rng.choice(len(COUNTRY_NAMES), size=n_guest, p=COUNTRY_PROBS)

    nlines = np.concatenate([reg_nlines, guest_nlines])
    line_invoice = np.repeat(np.arange(n_reg + n_guest), nlines)
    n_lines = len(line_invoice)
    seg_of_line = np.concatenate([seg_of_order, np.full(n_guest, -1)])[line_invoice]
    product = rng.choice(len(cat.codes), size=n_lines, p=cat.popularity)
    qmean = np.append([s.quantity_mean for s in SEGMENTS], GUEST_QUANTITY_MEAN)[seg_of_line]
    quantity = 1 + rng.poisson(qmean - 1.0)
    discount = np.append([s.discount for s in SEGMENTS], 0.0)[seg_of_line]
    discount = np.where(rng.random(n_lines) < DISCOUNTED_LINE_SHARE, discount, 0.0)
    price = np.round(cat.price_cents[product] * (1.0 - discount)).astype(np.int64)

    invoices = _Invoices(
        ts=np.concatenate([_times(rng, cust.order_day), _times(rng, guest_day)]),
        owner=np.concatenate([owner, np.full(n_guest, -1)]),
        country=np.concatenate([cust.country_code[owner], guest_country]),
        is_cancel=np.zeros(n_reg + n_guest, dtype=bool),
        line_invoice=line_invoice, product=product, quantity=quantity, price_cents=price,
    )
    return invoices, nlines

def _cancellations(days: int, rng: np.random.Generator, placed: _Invoices,
                   nlines: np.ndarray, cancel_lines: int) -> _Invoices:
    """Cancel the first k lines of random registered orders, ``cancel_lines`` lines in all."""
    end_ts = days * SECONDS_PER_DAY
    candidates = np.flatnonzero((placed.owner >= 0) & (placed.ts < end_ts - 3 * 3600))
    candidates = rng.permutation(candidates)
    k = np.minimum(1 + rng.poisson(0.4, len(candidates)), nlines[candidates])
    n = min(int(np.searchsorted(np.cumsum(k), cancel_lines, side="left")) + 1, len(candidates))
    chosen, k = candidates[:n], k[:n].copy()
    if n and k.sum() > cancel_lines:
        k[-1] -= k.sum() - cancel_lines  # the order that crossed the budget gives up lines
    keep = k > 0
    by_order = np.argsort(chosen[keep])
    chosen, k = chosen[keep][by_order], k[keep][by_order]

    delay = 600 + rng.exponential(2 * SECONDS_PER_DAY, len(chosen)).astype(np.int64)
    ts = placed.ts[chosen] + np.minimum(delay, end_ts - 1 - placed.ts[chosen])
    line_invoice = np.repeat(np.arange(len(chosen)), k)
    pos = np.arange(len(line_invoice)) - np.concatenate([[0], np.cumsum(k)[:-1]])[line_invoice]
    first_line = np.concatenate([[0], np.cumsum(nlines)[:-1]])
    src = first_line[chosen][line_invoice] + pos
    quantity = -(1 + np.floor(rng.random(len(src)) * placed.quantity[src]).astype(np.int64))
    return _Invoices(ts=ts, owner=placed.owner[chosen], country=placed.country[chosen],
                     is_cancel=np.ones(len(chosen), dtype=bool), line_invoice=line_invoice,
                     product=placed.product[src], quantity=quantity,
                     price_cents=placed.price_cents[src])


def _concat(a: _Invoices, b: _Invoices) -> _Invoices:
    """Invoices of ``a`` then ``b`` (``b``'s line → invoice references shifted)."""
    parts = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in _Invoices.__dataclass_fields__}
    parts["line_invoice"] = np.concatenate([a.line_invoice, b.line_invoice + len(a.ts)])
    return _Invoices(**parts)


def block_orders(cfg: DemoConfig, rng: np.random.Generator, block: int, first: int,
                 cust: CustomerDraw, cat: Catalogue, demand_cum: np.ndarray,
                 lines_target: int) -> BlockOrders:
    """The order lines of one block of customers (``first``: global index of its first
    customer; ``lines_target``: the block's share of the valid lines, guests and
    cancellations included) and its customers' transactions and net revenue."""
    guest_lines = round(GUEST_LINE_SHARE * lines_target)
    cancel_lines = round(CANCEL_LINE_SHARE * lines_target)
    placed, nlines = _placed(rng, cust, cat, demand_cum, lines_target - guest_lines - cancel_lines,
                             guest_lines)
    cancels = _cancellations(cfg.days, rng, placed, nlines, cancel_lines)
    inv = _concat(placed, cancels)

    li = inv.line_invoice
    owner = inv.owner[li]
    lines = np.empty(len(li), dtype=LINE_DTYPE)
    lines["ts"] = inv.ts[li]
    lines["uid"] = (np.int64(block) << 32) | li
    lines["seq"] = np.arange(len(li))
    lines["owner"] = np.where(owner >= 0, owner + first, -1)
    lines["cancel"] = inv.is_cancel[li]
    lines["product"] = inv.product
    lines["quantity"] = inv.quantity
    lines["price_cents"] = inv.price_cents
    lines["country"] = inv.country[li]

    registered = owner >= 0
    revenue = np.bincount(owner[registered], weights=(inv.quantity * inv.price_cents)[registered],
                          minlength=len(cust.ids))
    n_placed = int((~inv.is_cancel).sum())
    n_reg = int(cust.n_orders.sum())
    stats = {"registered_orders": n_reg, "guest_orders": n_placed - n_reg,
             "cancellation_orders": int(inv.is_cancel.sum()),
             "registered_lines": int(nlines[:n_reg].sum()),
             "guest_lines": int(nlines[n_reg:].sum()),
             "cancellation_lines": int(len(cancels.line_invoice))}
    return BlockOrders(lines=lines, transactions=cust.n_orders.copy(),
                       revenue_cents=np.round(revenue).astype(np.int64), stats=stats)


def sort_lines(lines: np.ndarray) -> np.ndarray:
    """Lines in file order: by order time, then order (uid), then generation order."""
    return lines[np.lexsort((lines["seq"], lines["uid"], lines["ts"]))]


def number_orders(lines: np.ndarray, first_number: int) -> tuple[np.ndarray, int]:
    """Order number per line of time-sorted ``lines`` (see :func:`sort_lines`), counting
    from ``first_number`` in time order; also returns the next free number."""
    if len(lines) == 0:
        return np.zeros(0, dtype=np.int64), first_number
    new_order = np.ones(len(lines), dtype=bool)
    new_order[1:] = (lines["ts"][1:] != lines["ts"][:-1]) | (lines["uid"][1:] != lines["uid"][:-1])
    number = first_number + np.cumsum(new_order) - 1
    return number, int(number[-1]) + 1


def lines_frame(cfg: DemoConfig, lines: np.ndarray, number: np.ndarray, cat: Catalogue) -> pd.DataFrame:
    """The orders.csv rows of ``lines`` with their order numbers (:func:`number_orders`)."""
    return pd.DataFrame({
        "order_id": np.char.add(np.where(lines["cancel"], "C", ""), number.astype(str)),
        "customer_id": format_customer_ids(lines["owner"], cfg.customers),
        "ordered_at": np.datetime64(cfg.start, "s") + lines["ts"].astype("timedelta64[s]"),
        "quantity": lines["quantity"].astype(np.int64),
        "unit_price": lines["price_cents"] / 100.0,
        "product": cat.codes[lines["product"]],
        "product_name": cat.names[lines["product"]],
        "country": COUNTRY_NAMES[lines["country"]],
    }, columns=ORDER_COLUMNS)
