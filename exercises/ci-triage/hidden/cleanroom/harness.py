"""Evaluates the grader's requests against a package and prints the answers; it judges nothing.

  env -i TZ=<zone> ... python3 -I -B harness.py <tree>   < request.json

Run by judge.py as `ci`, in a tree that holds only statuspage/ (the committed *.py files, root's and read-only). The
request is read whole and stdin closed before the package is imported. The answer is one line of JSON on stdout:
{"nonce", "answers": [...], "facts": {...}} where an answer is {"v": value} or {"raises": exception type}, and the
facts are the process's time zone as seen after every call (TZ and the UTC offsets at the requested instants), so
that judge.py can tell a package that changed its process's zone. judge.py compares the answers with its own oracle
in its own process; whatever this process prints besides that one line is held against the package.
"""
import json
import os
import sys
import time


def main():
    request = json.loads(sys.stdin.buffer.read().decode())
    os.close(0)
    sys.path.append(sys.argv[1])  # last: nothing in the tree can shadow the standard library
    from statuspage import config, report

    def encode(value):
        if isinstance(value, dict):  # keeps the order the package gave
            return [[k, encode(v)] for k, v in value.items()]
        if isinstance(value, config.Config):
            return [value.port, value.data_file, value.days]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"unexpected {type(value).__name__}")

    answers = []
    for fn, args in request["calls"]:
        try:
            f = config.load if fn == "load" else getattr(report, fn)
            answers.append({"v": encode(f(*args))})
        except Exception as e:  # a wrong answer, not a broken harness
            answers.append({"raises": type(e).__name__})
    facts = {"TZ": os.environ.get("TZ"),
             "offsets": [time.strftime("%z", time.localtime(t)) for t in request["probes"]]}
    line = json.dumps({"nonce": request["nonce"], "answers": answers, "facts": facts}, separators=(",", ":"))
    sys.stdout.flush()
    os.write(1, (line + "\n").encode())
    os._exit(0)


main()
