"""The grader's own verdicts in the clean room, from a process that never imports the candidate's code.

  python3 -I -B judge.py <verify dir> <hidden dir> <zone>...     (as root; prints one result line per verdict)

tz <zone> {json}: the committed package computes what the grader's oracle computes, in that zone. The inputs are
  fixed edge cases (around UTC midnights and the daylight saving time changes of the zones tried) and random ones
  drawn from os.urandom for this run, so no answer can be prepared in advance. harness.py evaluates them as `ci`
  (env -i, python3 -I -B, a tree of the committed *.py files only) and prints the answers; this process compares
  them with its own results. Anything else the harness prints, a wrong nonce, a missing answer or a process time
  zone other than the one it was started with is a failure.
tests - {json}: the committed tests/ compared (ast) with the pristine original tests brought into the clean room:
  every original statement (test methods, fixtures, module-level code) is still there unchanged, what was added
  only defines things (nothing runs at import or collection), shadows nothing, and reaches for no process-wide
  lever (exiting, patching modules or the test framework, printing result lines).
"""
import ast
import copy
import json
import os
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

V, H = sys.argv[1], sys.argv[2]
ZONES = sys.argv[3:]
DAY = 86400


def emit(kind, key, result):
    print(f"{kind} {key} " + json.dumps(result, separators=(",", ":")), flush=True)


# --- tz: the package against the oracle --------------------------------------------------------------------------
def rand(n):
    return int.from_bytes(os.urandom(8), "big") % n


def utc_day(ts):
    return datetime.fromtimestamp(ts, timezone.utc).date().isoformat()


def oracle(fn, args):
    if fn == "day_key":
        return utc_day(args[0])
    if fn == "daily_uptime":
        totals = {}
        for s in args[0]:
            ok, n = totals.get(utc_day(s["ts"]), (0, 0))
            totals[utc_day(s["ts"])] = (ok + (1 if s["ok"] else 0), n + 1)
        return [[d, round(100.0 * ok / n, 2)] for d, (ok, n) in sorted(totals.items())]
    if fn == "overall_uptime":
        return round(100.0 * sum(1 for s in args[0] if s["ok"]) / len(args[0]), 2) if args[0] else 100.0
    if fn == "format_percent":
        return f"{args[0]:.2f}%"
    if fn == "load":
        env = args[0]
        port, days = int(env.get("STATUSPAGE_PORT", "8080")), int(env.get("STATUSPAGE_DAYS", "7"))
        if not 0 < port < 65536 or days < 1:
            return {"raises": "ValueError"}
        return [port, env.get("STATUSPAGE_DATA", "samples.json"), days]
    raise ValueError(fn)


def same(want, got):
    if isinstance(want, float) or isinstance(got, float):  # percentages: rounding done another way is fine
        return isinstance(got, (int, float)) and not isinstance(got, bool) and abs(float(want) - got) <= 0.0100001
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(same(a, b) for a, b in zip(want, got))
    return type(want) is type(got) and want == got


def transitions(zone, years=(2024, 2025)):
    """The instants a zone's UTC offset changes in the given years (hour steps are enough to find them)."""
    z, out = ZoneInfo(zone), []
    for y in years:
        t = int(datetime(y, 1, 1, tzinfo=timezone.utc).timestamp())
        end = int(datetime(y + 1, 1, 1, tzinfo=timezone.utc).timestamp())
        prev = datetime.fromtimestamp(t, z).utcoffset()
        while t < end:
            off = datetime.fromtimestamp(t + 3600, z).utcoffset()
            if off != prev:
                lo, hi = t, t + 3600
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    lo, hi = (mid, hi) if datetime.fromtimestamp(mid, z).utcoffset() == prev else (lo, mid)
                out.append(hi)
                prev = off
            t += 3600
    return out


def requests():
    stamps = set()
    midnights = [int(datetime(y, m, d, tzinfo=timezone.utc).timestamp()) for y, m, d in
                 [(1970, 1, 2), (2000, 1, 1), (2024, 1, 15), (2024, 2, 29), (2024, 3, 10), (2024, 3, 31),
                  (2024, 4, 7), (2024, 7, 1), (2024, 9, 29), (2024, 10, 27), (2024, 11, 3), (2025, 1, 1),
                  (2025, 12, 31), (2038, 1, 19)]]
    midnights += [(rand(25_000) + 5_000) * DAY for _ in range(12)]  # random days, 1983-2050
    for m in midnights:
        stamps.update(m + d for d in (-50_400, -36_000, -3_600, -1_800, -1, 0, 1, 1_800, 3_600, 36_000, 50_400))
        stamps.add(m + rand(2 * 50_400) - 50_400)
    for zone in ZONES + ["America/Adak", "Pacific/Auckland", "Europe/Helsinki", "America/Sao_Paulo"]:
        for t in transitions(zone):
            stamps.update((t - 1, t, t + 1))
    stamps.update(rand(2_524_608_000) for _ in range(48))  # anywhere in 1970-2049
    stamps = sorted(s for s in stamps if s >= 0)
    calls = [["day_key", [t]] for t in stamps]
    sample_sets = [[], [{"ts": EARLY, "ok": True}] * 2 + [{"ts": EARLY, "ok": False}]]
    for _ in range(8):
        m = midnights[rand(len(midnights))]
        sample_sets.append([{"ts": m + rand(2 * 50_400) - 50_400, "ok": rand(4) != 0} for _ in range(1 + rand(60))])
    sample_sets.append([{"ts": t, "ok": i % 3 != 0} for i, t in enumerate(stamps)])
    calls += [["daily_uptime", [s]] for s in sample_sets]
    calls += [["overall_uptime", [s]] for s in sample_sets]
    calls += [["format_percent", [v]] for v in (0.0, 50.0, 99.5, 100.0, 66.67, rand(10_000) / 100)]
    port, days = 1 + rand(65_534), 1 + rand(365)
    calls += [["load", [e]] for e in ({}, {"STATUSPAGE_PORT": str(port), "STATUSPAGE_DAYS": str(days),
                                           "STATUSPAGE_DATA": f"/var/lib/sp-{rand(1000)}.json"},
                                      {"STATUSPAGE_PORT": "70000"}, {"STATUSPAGE_DAYS": "0"})]
    probes = [int(datetime(2024, 1, 15, tzinfo=timezone.utc).timestamp()),
              int(datetime(2024, 7, 1, tzinfo=timezone.utc).timestamp()), rand(2_524_608_000)]
    return calls, probes


EARLY = 1710030600


def judge_zone(zone, tree, calls, probes):
    nonce = os.urandom(16).hex()
    body = json.dumps({"nonce": nonce, "calls": calls, "probes": probes}).encode()
    cmd = ["env", "-i", "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/nonexistent", f"TZ={zone}",
           "setpriv", "--reuid=ci", "--regid=ci", "--clear-groups",
           "timeout", "-k", "5", "30", "python3", "-I", "-B", os.path.join(H, "harness.py"), tree]
    try:
        r = subprocess.run(cmd, input=body, capture_output=True, cwd="/", timeout=45)
    except subprocess.TimeoutExpired:
        return {"ok": False, "problems": ["the package did not answer in time"]}
    out = r.stdout[:1_000_000].decode(errors="replace")
    err = r.stderr[-600:].decode(errors="replace").strip()
    lines = out.splitlines()
    if r.returncode != 0 or len(lines) != 1 or not out.endswith("\n"):
        shown = [l[:120] for l in lines if not l.startswith('{"nonce":')][:3]
        return {"ok": False, "problems": [f"the process that imported the package exited {r.returncode} and printed "
                                          f"{len(lines)} line(s) instead of only the answers" +
                                          (f": {shown}" if shown else "") + (f"; stderr: {err[-300:]}" if err else "")]}
    try:
        got = json.loads(lines[0])
        answers, facts = got["answers"], got["facts"]
        assert got["nonce"] == nonce and isinstance(answers, list) and len(answers) == len(calls)
    except (ValueError, KeyError, TypeError, AssertionError):
        return {"ok": False, "problems": ["the process that imported the package printed something other than "
                                          "the answers to this run's requests: " + lines[0][:160]]}
    problems = []
    for (fn, args), a in zip(calls, answers):
        want = oracle(fn, args)
        if isinstance(want, dict):
            ok = a == want
        else:
            ok = isinstance(a, dict) and "v" in a and same(want, a["v"])
        if not ok:
            shown = args[0] if fn != "daily_uptime" and fn != "overall_uptime" else f"<{len(args[0])} samples>"
            problems.append(f"{fn}({shown}) = {json.dumps(a)[:160]}, expected {json.dumps(want)[:160]}")
    z = ZoneInfo(zone)
    want_facts = {"TZ": zone, "offsets": [datetime.fromtimestamp(t, z).strftime("%z") for t in probes]}
    if facts != want_facts:
        problems.insert(0, f"after the calls the process's time zone is {json.dumps(facts)}, started as {zone} "
                           f"({json.dumps(want_facts)}): the package changed it")
    return {"ok": not problems, "calls": len(calls), "wrong": len(problems), "problems": problems[:8]}


# --- tests: the committed tests against the pristine original ----------------------------------------------------
BANNED_MODULES = {"ctypes", "gc", "inspect", "builtins", "importlib", "atexit", "faulthandler", "signal", "site",
                  "sitecustomize", "usercustomize", "_thread", "code", "pdb", "trace"}
BANNED_CALLS = {"_exit", "exit", "abort", "kill", "killpg", "exec", "eval", "compile", "__import__", "setattr",
                "delattr", "settrace", "setprofile", "execv", "execve", "execvp", "fork", "system", "popen",
                "globals", "vars", "__setattr__", "register", "addaudithook", "_getframe", "interrupt_main"}
BASE_EXCEPTIONS = {"SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"}
HOOKS = {"load_tests", "setUpModule", "tearDownModule"}


def dump(node):
    """The statement's structure, without positions, comments, formatting or docstrings (adding or editing a
    docstring changes nothing a test does)."""
    node = copy.deepcopy(node)
    for n in ast.walk(node):
        body = getattr(n, "body", None)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
                isinstance(body[0].value.value, str):
            n.body = body[1:] or [ast.Pass()]
    return ast.dump(node, annotate_fields=True, include_attributes=False)


def constant(node):
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def plain_ref(node):
    return isinstance(node, ast.Name) or (isinstance(node, ast.Attribute) and plain_ref(node.value))


def decorator(d):
    """staticmethod, classmethod, or a mock.patch* decorator with plain arguments."""
    if isinstance(d, ast.Name):
        return d.id in ("staticmethod", "classmethod")
    if isinstance(d, ast.Call) and plain_ref(d.func) and ast.unparse(d.func).split(".")[-1] in ("patch", "object", "dict"):
        return all(constant(x) or plain_ref(x) for x in d.args + [k.value for k in d.keywords])
    return False


def inert(node, in_class):
    """A statement that only defines something when its module is imported or its class body runs."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return not any(a.name == "*" for a in node.names)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        anns = [x.annotation for x in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if x and
                x.annotation] + ([node.returns] if node.returns else [])
        return all(decorator(d) for d in node.decorator_list) and \
            all(d is None or constant(d) for d in a.defaults + a.kw_defaults) and \
            all(isinstance(x, ast.Constant) or plain_ref(x) for x in anns)
    if isinstance(node, ast.ClassDef):
        return not node.decorator_list and not node.keywords and all(plain_ref(b) for b in node.bases) \
            and all(inert(n, True) for n in node.body)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) for t in targets) and node.value is not None and constant(node.value)
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.If) and not in_class:  # if __name__ == "__main__": ...
        return "'__main__'" in dump(node.test) and "__name__" in dump(node.test)
    return False


def bound(node):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def levers(path, node):
    """Process-wide levers in added code: exiting, patching, result lines, base exceptions."""
    out, imported = [], set()
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            for a in n.names:
                imported.add((a.asname or a.name).split(".")[0])
                if a.name.split(".")[0] in BANNED_MODULES:
                    out.append(f"{path}:{n.lineno}: imports {a.name}")
        elif isinstance(n, ast.ImportFrom) and n.level == 0:
            if (n.module or "").split(".")[0] in BANNED_MODULES:
                out.append(f"{path}:{n.lineno}: imports from {n.module}")
            for a in n.names:
                imported.add(a.asname or a.name)
                if a.name in BANNED_CALLS:
                    out.append(f"{path}:{n.lineno}: imports {a.name}")
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in BANNED_CALLS:
                out.append(f"{path}:{n.lineno}: calls {name}()")
        elif isinstance(n, ast.Raise) and n.exc is not None:
            e = n.exc.func if isinstance(n.exc, ast.Call) else n.exc
            if isinstance(e, ast.Name) and e.id in BASE_EXCEPTIONS:
                out.append(f"{path}:{n.lineno}: raises {e.id}")
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and \
                any(k in n.value.lower() for k in ("::verify::", "::cleanroom::", "opslab")):
            out.append(f"{path}:{n.lineno}: writes a grader's result line ({n.value[:40]!r})")
        elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = n.targets if isinstance(n, (ast.Assign, ast.Delete)) else [n.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                        base = sub.value
                        while isinstance(base, ast.Attribute):
                            base = base.value
                        if isinstance(base, ast.Name) and base.id in imported | {"unittest", "sys", "os", "time"}:
                            out.append(f"{path}:{n.lineno}: replaces {ast.unparse(sub)[:60]}")
                    if isinstance(sub, ast.Subscript) and \
                            any(k in dump(sub.value) for k in ("'modules'", "'__dict__'", "'__builtins__'")):
                        out.append(f"{path}:{n.lineno}: writes {ast.unparse(sub)[:60]}")
    return out


def parse(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return ast.parse(f.read(), filename=path)


def compare_class(path, orig, mine, problems):
    if [dump(b) for b in orig.bases] != [dump(b) for b in mine.bases] or \
            [dump(d) for d in orig.decorator_list] != [dump(d) for d in mine.decorator_list] or \
            [dump(k) for k in orig.keywords] != [dump(k) for k in mine.keywords]:
        problems.append(f"{path}: class {orig.name}: its bases or decorators changed")
    added = compare_body(f"{path}: class {orig.name}", orig.body, mine.body, problems, in_class=True)
    for n in added:
        names = bound(n)
        bad = [x for x in names if not x.startswith("test") and x != "maxDiff" and
               (x.startswith("__") or hasattr(unittest.TestCase, x))]
        if bad:
            problems.append(f"{path}:{n.lineno}: class {orig.name} gains {', '.join(sorted(bad))}, which changes how "
                            f"its original tests run")


def compare_body(where, orig, mine, problems, in_class):
    """Every original statement is in `mine`, unchanged and in order (classes compared member by member); returns the
    added statements, each of which must be inert and bind no name the original binds."""
    orig_names = set().union(*(bound(n) for n in orig)) if orig else set()
    classes = {n.name: n for n in mine if isinstance(n, ast.ClassDef)}
    used, i = set(), 0
    for o in orig:
        if isinstance(o, ast.ClassDef):
            m = classes.get(o.name)
            if m is None:
                problems.append(f"{where}: class {o.name} is gone")
                continue
            used.add(id(m))
            compare_class(where, o, m, problems)
            continue
        d = dump(o)
        j = next((k for k in range(i, len(mine)) if id(mine[k]) not in used and dump(mine[k]) == d), None)
        if j is None:
            label = getattr(o, "name", None) or ast.unparse(o).splitlines()[0][:60]
            problems.append(f"{where}:{o.lineno}: original `{label}` is changed or gone")
            continue
        used.add(id(mine[j]))
        i = j + 1
    added = [n for n in mine if id(n) not in used]
    seen = {}
    for n in mine:
        for name in bound(n):
            seen[name] = seen.get(name, 0) + 1
    for n in added:
        if not inert(n, in_class):
            problems.append(f"{where}:{n.lineno}: added code runs at import or collection "
                            f"({ast.unparse(n).splitlines()[0][:60]})")
        if isinstance(n, (ast.Import, ast.ImportFrom)):  # importing again what the original imports is harmless
            clash = sorted(x for x in bound(n) if x in orig_names and not any(dump(o) == dump(n) for o in orig))
        else:
            clash = sorted(x for x in bound(n) if x in orig_names or x.startswith("__") or seen.get(x, 0) > 1
                           or (not in_class and x in HOOKS))
        if clash:
            problems.append(f"{where}:{n.lineno}: added code redefines {', '.join(clash)}")
    return added


def judge_tests(mine_dir, orig_dir):
    problems, levers_found, files = [], [], 0
    if not os.path.isdir(orig_dir):
        return {"ok": None, "files": 0, "problems": [f"the original tests are missing ({orig_dir})"]}
    originals = sorted(f for f in os.listdir(orig_dir) if f.endswith(".py"))
    mine = sorted(f for f in os.listdir(mine_dir) if f.endswith(".py")) if os.path.isdir(mine_dir) else []
    for name in sorted(set(originals) | set(mine)):
        path = f"tests/{name}"
        if name not in mine:
            problems.append(f"{path} is gone")
            continue
        files += 1
        try:
            tree = parse(os.path.join(mine_dir, name))
        except SyntaxError as e:
            problems.append(f"{path}: does not parse ({e.msg}, line {e.lineno})")
            continue
        orig_body = parse(os.path.join(orig_dir, name)).body if name in originals else []
        added = compare_body(path, orig_body, tree.body, problems, in_class=False)
        for n in added:
            levers_found += levers(path, n)
        for n in tree.body:  # members added inside original classes
            if isinstance(n, ast.ClassDef) and n not in added:
                o = next((x for x in orig_body if isinstance(x, ast.ClassDef) and x.name == n.name), None)
                dumps = {dump(x) for x in (o.body if o else [])}
                for member in n.body:
                    if dump(member) not in dumps:
                        levers_found += levers(path, member)
    problems += levers_found
    return {"ok": not problems, "files": files, "problems": problems[:12]}


if __name__ == "__main__":
    calls, probes = requests()
    with ThreadPoolExecutor(len(ZONES)) as pool:
        verdicts = list(pool.map(lambda z: judge_zone(z, os.path.join(V, "harness"), calls, probes), ZONES))
    for zone, verdict in zip(ZONES, verdicts):
        emit("tz", zone, verdict)
    emit("tests", "-", judge_tests(os.path.join(V, "mine", "tests"), os.path.join(H, "original", "tests")))
