"""ABC/XYZ classification of clients, in plain Python.

ABC by revenue: the clients sorted by their revenue, largest first; a client is A while
the revenue of the clients before it is under 80 % of the whole (the one that crosses it
is A too), B while under 95 %, C after. XYZ by stability: the coefficient of variation of
its revenue over the months (the population standard deviation over the mean, months
without revenue counted as zero); X up to 10 %, Y up to 25 %, Z above. A client without
revenue has no class.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from math import sqrt
from typing import Mapping, Sequence

ABC_LIMITS = (Decimal(80), Decimal(95))   # cumulative share of revenue, %
XYZ_LIMITS = (Decimal(10), Decimal(25))   # coefficient of variation, %


@dataclass(frozen=True)
class Classed:
    revenue: Decimal
    variation: Decimal  # the coefficient of variation, %
    abc: str
    xyz: str


def variation(months: Sequence[Decimal]) -> Decimal:
    """The coefficient of variation of the monthly revenue, in %, to 0.1."""
    mean = sum(months, Decimal(0)) / len(months)
    if mean == 0:
        return Decimal(0)
    spread = Decimal(sqrt(sum((float(m - mean) ** 2 for m in months)) / len(months)))
    return (spread * 100 / mean).quantize(Decimal("0.1"))


def xyz_of(value: Decimal) -> str:
    return "X" if value <= XYZ_LIMITS[0] else "Y" if value <= XYZ_LIMITS[1] else "Z"


def classify(monthly: Mapping[int, Sequence[Decimal]]) -> dict[int, Classed]:
    """client id -> its class, from each client's revenue per month (every client the same
    number of months, oldest first)."""
    revenue = {client: sum(months, Decimal(0)) for client, months in monthly.items()}
    earning = sorted((client for client, total in revenue.items() if total > 0),
                     key=lambda client: (-revenue[client], client))
    whole = sum((revenue[client] for client in earning), Decimal(0))
    classed, before = {}, Decimal(0)
    for client in earning:
        share = before * 100 / whole
        abc = "A" if share < ABC_LIMITS[0] else "B" if share < ABC_LIMITS[1] else "C"
        spread = variation(monthly[client])
        classed[client] = Classed(revenue[client], spread, abc, xyz_of(spread))
        before += revenue[client]
    return classed
