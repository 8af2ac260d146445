"""The clean room's pricing: the shipped pricing.py's handler (quotes at its usual 25-85 ms, the abuse guard, 503
in a brownout), with its two rare events put in the grader's hands, so that a short measurement meets exactly
what the real one meets over minutes, and nothing more:

  * a stalled call (pricing answers after STALL_SECONDS, like the ~4% of real calls stuck behind a cache refill)
    happens on the first call for a cart whose id ends in "-stall", and never at random. The grader marks 1 cart
    in 20, a little more than the real share.
  * a brownout (503 for BROWNOUT_SECONDS, like a replica restarting every 6-10 s) starts with the first call for a
    cart whose id ends in "-brownout", and never on its own. The grader sends two such carts at once, so both meet
    the whole brownout from their first call on, whatever the clean room's scheduling between the grader's send
    and checkout's call; the next measurement's carts (another "cr-<seed>-" prefix) start the next. Their calls
    (milliseconds after the brownout began, and pricing's answer) are appended to the file $OPSLAB_CALLS as JSON
    lines, the evidence of how checkout retried into it (a file: a retry storm can flood pricing past answering).
    checkout only ever asks for /price.

Why not at random as in the sandbox: a random stall or brownout meeting a retry (the last attempt of a request
stalled too) failed requests of a sound configuration: 11 in 60 quiet measurements of the reference fixes, at
most 1 in each, where 3 fail the SLO; a busy test run once failed a sound fix that way. Every fault fails by a
path of its own that does not need chance (the marked stalls, the brownout, the load), so the dice only added
noise.
"""
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped"))
import pricing  # noqa: E402  (the exercise's files/pricing.py, verified by measure.py against code.sha256)

pricing.STALL_RATE = 0.0   # stalls come only from the marked carts (the shipped handler draws against this)


stalled = set()
started = {}   # "cr-<seed>" (one measurement) -> monotonic time its brownout started
calls_log = open(os.environ["OPSLAB_CALLS"], "a", buffering=1) if os.environ.get("OPSLAB_CALLS") else None
# Its own lock: the shipped handler answers some requests while it holds pricing.lock (not reentrant).
calls_lock = threading.Lock()
shipped_get = pricing.Handler.do_GET


def record(handler, cart, ms, brownout):
    shipped_reply = handler.reply

    def reply(code, obj):
        if calls_log:
            with calls_lock:
                calls_log.write(json.dumps({"cart": cart, "ms": ms, "code": code, "brownout": brownout}) + "\n")
        return shipped_reply(code, obj)

    handler.reply = reply


def do_get(self):
    url = urlsplit(self.path)
    cart = (parse_qs(url.query).get("cart") or [""])[0]
    if url.path == "/price" and cart.endswith("-brownout"):
        now = time.monotonic()
        measurement = "-".join(cart.split("-")[:2])
        with pricing.lock:
            first = measurement not in started
            if first:
                started[measurement] = now
                pricing.state["brownout_until"] = now + pricing.BROWNOUT_SECONDS
        began = started[measurement]
        # The brownout's span on the clock every process of the clean room shares (CLOCK_MONOTONIC), for measure.py.
        record(self, cart, round((now - began) * 1000, 1), [round(began, 4), round(began + pricing.BROWNOUT_SECONDS, 4)])
        if first:
            pricing.log(f"WARN replica restart: answering 503 for {int(pricing.BROWNOUT_SECONDS * 1000)} ms")
    if cart.endswith("-stall"):
        with pricing.lock:
            first_call = cart not in stalled
            stalled.add(cart)
        if first_call:
            time.sleep(pricing.STALL_SECONDS)
    return shipped_get(self)


pricing.Handler.do_GET = do_get
pricing.log("INFO pricing listening on %s:%d" % pricing.LISTEN)
pricing.Server(pricing.LISTEN, pricing.Handler).serve_forever()
