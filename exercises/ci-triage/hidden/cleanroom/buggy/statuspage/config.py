"""Settings from the environment, with defaults that work on a laptop."""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    port: int = 8080
    data_file: str = "samples.json"
    days: int = 7


def load(environ=None):
    env = os.environ if environ is None else environ
    port = int(env.get("STATUSPAGE_PORT", "8080"))
    if not 0 < port < 65536:
        raise ValueError(f"STATUSPAGE_PORT out of range: {port}")
    days = int(env.get("STATUSPAGE_DAYS", "7"))
    if days < 1:
        raise ValueError(f"STATUSPAGE_DAYS must be positive: {days}")
    return Config(port=port, data_file=env.get("STATUSPAGE_DATA", "samples.json"), days=days)
