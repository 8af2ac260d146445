"""The fare of one delivery, from the tariff table."""
import json
import os
from decimal import Decimal

from fleetline_money import round_to_step, to_decimal

TARIFFS = os.path.join(os.path.dirname(__file__), "tariffs.json")
MAX_KM = Decimal("2000")
MAX_KG = Decimal("500")


def load_tariffs(path=TARIFFS):
    with open(path) as f:
        return json.load(f)


def quote(tariffs, km, kg, zone):
    """The fare for `km` kilometres and `kg` kilograms in `zone`, rounded to the tariff's step."""
    km, kg = to_decimal(km), to_decimal(kg)
    if not (Decimal(0) < km <= MAX_KM):
        raise ValueError(f"km must be more than 0 and at most {MAX_KM}")
    if not (Decimal(0) <= kg <= MAX_KG):
        raise ValueError(f"kg must be between 0 and {MAX_KG}")
    try:
        t = tariffs["zones"][zone]
    except KeyError:
        raise ValueError(f"unknown zone {zone!r}") from None
    amount = Decimal(t["base"]) + Decimal(t["per_km"]) * km
    amount += Decimal(t["per_kg"]) * max(Decimal(0), kg - Decimal(t["free_kg"]))
    if km > Decimal(tariffs["long_haul_km"]):
        amount *= Decimal(tariffs["long_haul_factor"])
    return round_to_step(amount, tariffs["rounding"])
