"""Runs as an unprivileged user, env -i, python3 -I, in a directory that holds only the *.py files of the envkit
package committed on origin's main: evaluates the calls the judge sends on stdin and prints their results as one
JSON line after the nonce. The judge, a process of the grader's own, decides what they are worth."""
import json
import os
import sys

request = json.loads(sys.stdin.read())
out = os.dup(1)
sys.path.insert(0, sys.argv[1])
results = []
modules = {}
for fn, args in request["calls"]:
    mod, _, name = fn.partition(".")
    try:
        if mod not in modules:
            modules[mod] = __import__(f"envkit.{mod}", fromlist=[name])
        value = getattr(modules[mod], name)(*args)
        results.append({"r": list(value) if isinstance(value, tuple) else value})
    except Exception as e:  # noqa: BLE001 - any failure is an answer
        results.append({"e": type(e).__name__})
os.write(out, (request["nonce"] + " " + json.dumps(results, default=repr) + "\n").encode())
