"""jsonline-log: one JSON object per log line, on stderr."""
import json
import sys
import time

__version__ = "0.6.0"


def log(event, **fields):
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event}
    record.update(fields)
    sys.stderr.write(json.dumps(record, sort_keys=True) + "\n")
    sys.stderr.flush()
