"""The clean room's pricing: the shipped pricing.py's handler (quotes at its usual 25-85 ms, the abuse guard, 503
in a brownout), with its two rare events put in the grader's hands, so that a short measurement meets exactly
what the real one meets over minutes, and nothing more:

  * a stalled call (pricing answers after STALL_SECONDS, like the ~4% of real calls stuck behind a cache refill)
    happens on the first call for a cart whose id ends in "-stall", and never at random. The grader marks 1 cart
    in 20, a little more than the real share.
  * a brownout (503 for BROWNOUT_SECONDS, like a replica restarting every 6-10 s) starts when the grader asks with
    GET /opslab/brownout, and never on its own. checkout only ever asks for /price.

Why not at random as in the sandbox: a random stall or brownout meeting a retry (the last attempt of a request
stalled too) failed requests of a sound configuration: 11 in 60 quiet measurements of the reference fixes, at
most 1 in each, where 3 fail the SLO; a busy test run once failed a sound fix that way. Every fault fails by a
path of its own that does not need chance (the marked stalls, the brownout, the load), so the dice only added
noise.
"""
import os
import sys
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped"))
import pricing  # noqa: E402  (the exercise's files/pricing.py, verified by measure.py against code.sha256)

pricing.STALL_RATE = 0.0   # stalls come only from the marked carts (the shipped handler draws against this)


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
pricing.log("INFO pricing listening on %s:%d" % pricing.LISTEN)
pricing.Server(pricing.LISTEN, pricing.Handler).serve_forever()
