"""How the simulator bills, how it bills off the rules, and the anomalies it can plant.

Pure functions of their arguments (no clock, no I/O), so the generator in
:mod:`.data` and the tests read the same rules.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["OFF_RULE_KINDS", "PLANTED", "Line", "Planted", "billed", "off_rule_bill", "plan_anomalies"]

SIX_PLACES = Decimal("0.000001")
#: How an off-rule call is billed: what is wrong, and which way.
OFF_RULE_KINDS = (
    "minutes_over",
    "minutes_under",
    "price_over",
    "price_under",
    "minutes+price_over",
    "minutes+price_under",
)


@dataclass(frozen=True)
class Line:
    """A DID number the account rents: where it rings and how it is billed."""

    did_number: str
    country: str
    dial_code: str
    price_unit: Decimal
    fee_type: int  # 0 = "60+60", 1 = "1+1"
    weight: int


def billed(duration: int, fee_type: int, price_unit: Decimal) -> tuple[Decimal, Decimal]:
    """Billed minutes and cost by the documented rules (``docs/nxcloud-api.md``).

    60+60 bills every started minute; 1+1 bills per second (minutes to 6
    places half-up); the cost is minutes x price, 6 places half-up.
    """
    if fee_type == 0:
        minutes = Decimal(math.ceil(duration / 60))
    else:
        minutes = (Decimal(duration) / 60).quantize(SIX_PLACES, ROUND_HALF_UP)
    return minutes, (minutes * price_unit).quantize(SIX_PLACES, ROUND_HALF_UP)


def off_rule_bill(kind: str, fee_type: int, minutes: Decimal, price: Decimal, unit: Decimal) -> tuple[Decimal, Decimal]:
    """Minutes and cost of an off-rule call of ``kind`` (:data:`OFF_RULE_KINDS`), from the right ones.

    Minutes move by a whole minute (60+60) or half a minute (1+1); a price
    alone moves by half the price per minute; ``minutes+price`` bills the
    wrong minutes at the right price per minute. Never below zero.
    """
    step = Decimal(1) if fee_type == 0 else Decimal("0.5")
    if kind.startswith("price"):
        delta = (unit / 2).quantize(SIX_PLACES, ROUND_HALF_UP)
        return minutes, price + delta if kind.endswith("over") else price - min(price, delta)
    wrong = minutes + step if kind.endswith("over") else max(minutes - step, Decimal(0))
    if kind.startswith("minutes+price"):
        return wrong, (wrong * unit).quantize(SIX_PLACES, ROUND_HALF_UP)
    return wrong, price


@dataclass(frozen=True)
class Planted:
    """What ``anomalies="YYYY-MM"`` plants in that month (and, for the DID jump, the month before)."""

    spike_day: int = 13  # every call of this day, the planted ones too, is multiplied by spike_factor
    spike_factor: int = 6
    new_country: tuple[str, str, str] = ("Kazakhstan", "7", "0.091")  # (country, dialling code, price)
    jump_did: str = "6329990001"  # 2 calls of 5 min a day in both months, one more of 2 h in the planted one
    burst_number: str = "2347012345678"
    burst_day: int = 9
    burst_hour: int = 3
    burst_calls: int = 24  # incoming, 1-5 s each, within burst_hour


PLANTED = Planted()

#: (line, duration in seconds, start second of the day, caller number or None for a random one)
PlannedCall = tuple[Line, int, int, "str | None"]


def plan_anomalies(rng: random.Random, date: dt.date, planted_month: bool, burst_line: Line) -> list[PlannedCall]:
    """The extra calls of ``date``: the jump line in both months, a new country and a burst in the planted one."""
    jump = Line(PLANTED.jump_did, "Philippines", "63", Decimal("0.12"), 0, 0)
    country, dial, price = PLANTED.new_country
    new = Line(f"{dial}7{date.year % 100:02d}{date.month:02d}00555", country, dial, Decimal(price), 1, 0)
    plan: list[PlannedCall] = [(jump, 300, 10 * 3600 + 60 * n, None) for n in range(2)]
    if planted_month:
        long_calls = PLANTED.spike_factor if date.day == PLANTED.spike_day else 1
        plan += [(jump, 7200, 12 * 3600 + 30 * n, None) for n in range(long_calls)]
        plan += [(new, 90 + 30 * n, 15 * 3600 + 600 * n, None) for n in range(3)]
        if date.day == PLANTED.burst_day:
            seconds = sorted(rng.sample(range(3600), PLANTED.burst_calls))
            hour = PLANTED.burst_hour * 3600
            plan += [(burst_line, 1 + n % 5, hour + s, PLANTED.burst_number) for n, s in enumerate(seconds)]
    return sorted(plan, key=lambda item: item[2])
