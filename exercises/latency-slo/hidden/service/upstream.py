"""The clean room's pricing: the shipped pricing.py (its handler: quotes, stalls, abuse guard, brownouts every
6-10 s), with two additions so that a short measurement is sure to meet what the real one meets over minutes:
GET /opslab/brownout starts a brownout at once (the grader's own control; checkout only ever asks for
/price), and the first call for a cart whose id ends in "-stall" is a stalled call
(it answers after STALL_SECONDS, like the ~4% of calls that get stuck). The grader marks 1 cart in 20 so."""
import os
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped"))
import pricing  # noqa: E402  (the exercise's files/pricing.py, verified by measure.py against code.sha256)


def brownout(*_):
    with pricing.lock:
        pricing.state["brownout_until"] = time.monotonic() + pricing.BROWNOUT_SECONDS
    pricing.log(f"WARN replica restart: answering 503 for {int(pricing.BROWNOUT_SECONDS * 1000)} ms")


stalled = set()
shipped_get = pricing.Handler.do_GET


def do_get(self):
    url = urlsplit(self.path)
    if url.path == "/opslab/brownout":
        brownout()
        return self.reply(200, {"brownout_ms": int(pricing.BROWNOUT_SECONDS * 1000)})
    cart = (parse_qs(url.query).get("cart") or [""])[0]
    if cart.endswith("-stall"):
        with pricing.lock:
            first = cart not in stalled
            stalled.add(cart)
        if first:
            time.sleep(pricing.STALL_SECONDS)
    return shipped_get(self)


pricing.Handler.do_GET = do_get
threading.Thread(target=pricing.brownouts, daemon=True).start()
pricing.log("INFO pricing listening on %s:%d" % pricing.LISTEN)
pricing.Server(pricing.LISTEN, pricing.Handler).serve_forever()
