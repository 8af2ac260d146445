"""statuspage: uptime samples in, daily uptime report out (stdlib only)."""

__version__ = "1.4.2"
