import argparse
import json
import sys

from . import __version__, config
from .report import daily_uptime


def main(argv=None):
    p = argparse.ArgumentParser(prog="statuspage")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--self-check", action="store_true", help="smoke test used by deploys")
    a = p.parse_args(argv)
    if a.version:
        print(__version__)
        return 0
    if a.self_check:
        report = daily_uptime([{"ts": 36000, "ok": True}])
        if report != {"1970-01-01": 100.0}:
            print(f"self-check failed: {report}", file=sys.stderr)
            return 1
        print(f"statuspage {__version__}: self-check ok")
        return 0
    cfg = config.load()
    from .server import serve

    def load_samples():
        with open(cfg.data_file) as f:
            return json.load(f)

    serve(cfg.port, load_samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
