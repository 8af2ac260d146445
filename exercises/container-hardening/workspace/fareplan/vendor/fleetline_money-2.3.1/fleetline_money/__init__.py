"""fleetline-money: money arithmetic the Fleetline services share (Decimal only, never float)."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__version__ = "2.3.1"
CENT = Decimal("0.01")


def to_decimal(value):
    """A Decimal from a str, int or Decimal; ValueError for anything else (floats are refused on purpose)."""
    if isinstance(value, float):
        raise ValueError("floats are not money: pass a string")
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError) as e:
        raise ValueError(f"not a number: {value!r}") from e
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return d


def round_to_step(amount, step):
    """`amount` rounded half-up to a multiple of `step` (e.g. 0.05), with two decimals."""
    amount, step = to_decimal(amount), to_decimal(step)
    if step <= 0:
        raise ValueError("the step must be positive")
    units = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (units * step).quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(amount):
    """Two decimals, no grouping: '12.35'."""
    return str(to_decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))
