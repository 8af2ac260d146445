"""Runs a test suite against a package in a clean-room tree, and prints one result line (JSON after
"::verify:: <nonce> ").

  echo <nonce> | env -i TZ=<zone> ... python3 -I -B verify.py <tree>

<tree> holds only tests/ and statuspage/ (regular *.py files copied from the candidate's commit, or the grader's own,
root's and read-only). -I: no PYTHON* variables, no user site, no current directory on sys.path; the tree goes to
the end of sys.path, so nothing in it can shadow the standard library. The process's time zone is recorded before
anything is imported and compared afterwards: code that changes it (TZ, tzset) is reported.

This process imports the candidate's code, which may print anything here: run.sh keeps only the line with the nonce
read (and stdin closed) before anything of the tree is imported, and the checks never pass on these results alone
(judge.py gives the verdicts).
"""
import io
import json
import os
import sys
import time
import unittest

PROBES = (1710027000, 1719790200)


def zone_state():
    return [os.environ.get("TZ"), time.tzname] + [time.strftime("%z", time.localtime(t)) for t in PROBES]


NONCE = sys.stdin.readline().strip()
os.close(0)
tree = sys.argv[1]
tests = os.path.join(tree, "tests")
before = zone_state()
# A tests/ package is imported as one (its __init__ runs, as with `discover -t .`); otherwise as plain modules.
top = tree if os.path.isfile(os.path.join(tests, "__init__.py")) else tests
sys.path.append(tree)
if top == tests:
    sys.path.append(tests)
result = unittest.TestResult()
ran = set()


def name(test):
    if test is None:
        return "(suite)"
    parts = test.id().split(".")
    return ".".join(parts[-2:])


def walk(s):
    for t in s:
        if isinstance(t, unittest.TestSuite):
            walk(t)
        else:
            ran.add(name(t))


try:
    suite = unittest.TestLoader().discover(start_dir=tests, pattern="test*.py", top_level_dir=top)
    walk(suite)  # before the run, which empties the suite
    runner = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0)
    result = runner.run(suite)
except Exception as e:  # an unloadable suite is a result, not a crash
    result.errors.append((None, f"{type(e).__name__}: {e}"))


failed = sorted({name(t) for t, _ in result.failures} | {name(t) for t in result.unexpectedSuccesses})
errors = sorted({name(t) for t, _ in result.errors})
skipped = sorted({name(t) for t, _ in result.skipped} | {name(t) for t, _ in result.expectedFailures})
after = zone_state()
out = {"ran": result.testsRun, "names": sorted(ran), "failed": failed, "errors": errors, "skipped": skipped,
       "zone_changed": before != after}
sys.stdout.write(f"\n::verify:: {NONCE} " + json.dumps(out, separators=(",", ":")) + "\n")
sys.stdout.flush()
os._exit(0)
