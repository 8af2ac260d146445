"""Shared helpers for the ci-triage checks (runs in the grader; never executes candidate code)."""
import hashlib
import json
import os
import re
import subprocess
import sys

WORKSPACE = os.environ.get("WORKSPACE", "/sandbox/root/work")
SANDBOX = os.environ.get("SANDBOX", "/sandbox")
EXERCISE = os.environ.get("EXERCISE", "/exercise")
REPO = os.path.join(WORKSPACE, "statuspage")
CLEANROOM = os.environ.get("OPSLAB_CLEANROOM_DIR", "/cleanroom/pipeline")
SEED = os.environ.get("OPSLAB_SEED", "dev")
VAR_TZ = os.environ.get("OPSLAB_VAR_TZ", "")
VAR_REGISTRY = os.environ.get("OPSLAB_VAR_REGISTRY", "")
VAR_SECRET = os.environ.get("OPSLAB_VAR_SECRET", "")

with open(os.path.join(EXERCISE, "hidden", "expected.json")) as _f:
    EXPECTED = json.load(_f)


def original():
    """The hashes of this attempt's original commits: {"good": run #1841's commit, "release": the commit the
    candidate started from}. setup builds the history deterministically from the variant values; hidden/history.json
    holds the hashes (hidden/make-tables), so nothing in the sandbox says what they are."""
    with open(os.path.join(EXERCISE, "hidden", "history.json")) as f:
        table = json.load(f)
    key = f"{VAR_TZ}|{VAR_REGISTRY}|{VAR_SECRET}"
    if key not in table:
        broken(f"no recorded history for {key}")
    return table[key]


def passed(msg=None, detail=None):
    if msg:
        print(msg)
    if detail:
        print(detail, file=sys.stderr)
    sys.exit(0)


def failed(msg, detail=None):
    print(msg)
    if detail:
        print(str(detail)[-3500:], file=sys.stderr)
    sys.exit(1)


def broken(detail):
    """The grader cannot judge (missing input): an error, never counted against the candidate."""
    print("This check could not run.")
    print(detail, file=sys.stderr)
    sys.exit(2)


def tokens():
    """The credentials this attempt's setup put in the sandbox's secret store."""
    def tok(kind):
        return f"{kind[:3]}_" + hashlib.sha256(f"opslab-ci-triage:{kind}:{SEED}".encode()).hexdigest()[:32]
    slack = hashlib.sha256(f"slack:{SEED}".encode()).hexdigest()[:24]
    return {"staging-deploy-token": tok("staging"), "prod-deploy-token": tok("prod"), "slack-webhook-url": slack}


GENERIC_TOKEN = re.compile(r"\b(?:stg|prd)_[0-9a-f]{32}\b")

# Git on the candidate's repository, with nothing of theirs executed: no hooks, no fsmonitor, no external
# diff or textconv, no pager, no system or global config; objects as stored (no replace refs, grafts or commit-graph).
_GIT_ENV = {"GIT_NO_REPLACE_OBJECTS": "1", "GIT_GRAFT_FILE": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
            "GIT_PAGER": "cat", "PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0",
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
_GIT_SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "safe.directory=*",
             "-c", "core.pager=cat", "-c", "diff.external=", "-c", "core.untrackedCache=false",
             "-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "core.commitGraph=false"]


def git(*args, check=True, binary=False):
    if not os.path.isdir(os.path.join(REPO, ".git")):
        failed("The repository /root/work/statuspage (with its .git) is missing.", f"no {REPO}/.git")
    r = subprocess.run(["git", *_GIT_SAFE, "-C", REPO, *args], env=_GIT_ENV, capture_output=True,
                       timeout=40)
    if check and r.returncode != 0:
        failed("The repository's history cannot be read.", f"git {' '.join(args)}: {r.stderr.decode(errors='replace')}")
    return r.stdout if binary else r.stdout.decode(errors="replace")


def head_file(path):
    """A file's content in the committed HEAD, or None."""
    r = subprocess.run(["git", *_GIT_SAFE, "-C", REPO, "cat-file", "blob", f"HEAD:{path}"], env=_GIT_ENV,
                       capture_output=True, timeout=20)
    return r.stdout.decode(errors="replace") if r.returncode == 0 else None


def head_files(prefix=""):
    out = git("ls-tree", "-r", "-z", "--name-only", "HEAD", *([prefix] if prefix else []))
    return [p for p in out.split("\0") if p]


def cleanroom():
    """(exit code, output, markers, the pipeline's part of the output) of the clean-room job (hidden/cleanroom/run.sh).
    Markers are read only after the last "::cleanroom:: results" line, which the job prints once every process of
    the candidate's is gone: earlier lines (the pipeline's output) cannot forge them. markers["verify"] maps
    (tree, zone) to verify.py's result (a process that imported the candidate's code: only ever held against it),
    markers["judge"] maps ("tz", zone) and ("tests", "-") to judge.py's verdicts (the grader's own process)."""
    try:
        with open(os.path.join(CLEANROOM, "exit-code")) as f:
            code = int(f.read().strip() or "-1")
        with open(os.path.join(CLEANROOM, "output.log"), errors="replace") as f:
            out = f.read()
    except (OSError, ValueError) as e:
        broken(f"clean-room result missing: {e}")
    cut = out.rfind("\n::cleanroom:: results\n")
    # Genuine only as the job's very end: nothing but result lines after it (a job that timed out never printed
    # its own, and a block the candidate's code printed earlier is not the last one).
    if cut < 0 or code == 124 or any(l.strip() and not l.startswith("::cleanroom:: ")
                                     for l in out[cut + 1:].splitlines()):
        return code, out, {"verify": {}, "judge": {}}, out if cut < 0 else out[:cut]
    markers = {"verify": {}, "judge": {}}
    for m in re.finditer(r"^::cleanroom:: (.*)$", out[cut + 1:], re.M):
        line = m.group(1).strip()
        if line.startswith(("verify ", "judge ")):
            parts = line.split(" ", 3)
            try:
                res = json.loads(parts[3]) if len(parts) == 4 and parts[3] else None
            except ValueError:
                res = None
            if len(parts) >= 3:
                markers[parts[0]][(parts[1], parts[2])] = res if isinstance(res, dict) else None
        elif line.startswith("deploy "):
            markers["deploy"] = line[len("deploy "):]
        elif "=" in line:
            k, v = line.split("=", 1)
            markers[k] = v
    return code, out, markers, out[:cut]


def strip_ts(line):
    return re.sub(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ?", "", line)


def genuine(rev):
    """Every object reachable from `rev` hashes to its name: the stored history was not forged in place (an object
    file replaced under an original hash). Returns a problem, or None."""
    names = [l.split()[0] for l in git("rev-list", "--objects", rev, check=False).splitlines() if l.strip()]
    if not names:
        return f"{rev[:12]} is not in the repository"
    r = subprocess.run(["git", *_GIT_SAFE, "-C", REPO, "cat-file", "--batch"], env=_GIT_ENV,
                       input=("\n".join(names) + "\n").encode(), capture_output=True, timeout=40)
    data, pos = r.stdout, 0
    for name in names:
        nl = data.find(b"\n", pos)
        header = data[pos:nl].decode(errors="replace").split()
        if len(header) != 3:
            return f"object {name[:12]} cannot be read"
        size = int(header[2])
        body = data[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
        if hashlib.sha1(f"{header[1]} {size}\0".encode() + body).hexdigest() != name:
            return f"object {name[:12]} does not match its hash"
    return None


# The package may be read, never trusted: code in it that changes the process it is imported into (its time zone,
# environment, other modules, the test framework) would make any test run in that process meaningless.
_MODULES_BANNED = {"unittest", "ctypes", "builtins", "importlib", "gc", "inspect", "site", "sitecustomize",
                   "usercustomize", "atexit", "faulthandler", "test", "doctest", "pytest", "_thread", "pwd", "getpass"}
# Ways for code to tell how it is being run (and so behave differently when judged).
_PROBES = {("sys", "flags"), ("sys", "argv"), ("sys", "orig_argv"), ("sys", "path"), ("sys", "executable"),
           ("os", "getuid"), ("os", "geteuid"), ("os", "getlogin"), ("sys", "_getframe")}
_CALLS_BANNED = {"tzset", "putenv", "unsetenv", "setattr", "delattr", "exec", "eval", "compile", "__import__",
                 "settrace", "setprofile", "_exit", "execv", "execve", "execvp", "execvpe", "fork", "kill",
                 "register", "globals", "vars", "chdir", "setrecursionlimit", "addaudithook", "system", "popen",
                 "_getframe", "getframe"}


def audit_package(files):
    """Problems in the package's committed source ({path: text}): import-time or process-wide side effects."""
    import ast
    problems = []
    for path, text in sorted(files.items()):
        try:
            tree = ast.parse(text, filename=path)
        except SyntaxError as e:
            problems.append(f"{path}: does not parse ({e.msg}, line {e.lineno})")
            continue
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    imported.add((a.asname or a.name).split(".")[0])
                    if a.name.split(".")[0] in _MODULES_BANNED:
                        problems.append(f"{path}:{node.lineno}: imports {a.name}")
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0 and (node.module or "").split(".")[0] in _MODULES_BANNED:
                    problems.append(f"{path}:{node.lineno}: imports from {node.module}")
                if node.level == 0 and (node.module or "") == "os":
                    for a in node.names:
                        if a.name in ("environ", "putenv", "unsetenv"):
                            imported.add(a.asname or a.name)
                for a in node.names:
                    if a.name in _CALLS_BANNED | _MODULES_BANNED:
                        problems.append(f"{path}:{node.lineno}: imports {a.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "opslab" in node.value.lower():
                problems.append(f"{path}:{node.lineno}: refers to the grader ({node.value[:40]!r})")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    (node.value.id, node.attr) in _PROBES and not path.endswith("__main__.py"):
                problems.append(f"{path}:{node.lineno}: looks at how it is run ({node.value.id}.{node.attr})")
            if isinstance(node, ast.Call):
                f = node.func
                fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                if fname in _CALLS_BANNED:
                    problems.append(f"{path}:{node.lineno}: calls {fname}()")
                if isinstance(f, ast.Attribute) and f.attr in ("update", "setdefault", "pop", "popitem", "clear",
                                                                 "__setitem__", "__delitem__") \
                        and "environ" in ast.dump(f.value):
                    problems.append(f"{path}:{node.lineno}: changes the process environment")
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for t in targets:
                    for sub in ast.walk(t):
                        if isinstance(sub, ast.Subscript) and re.search(r"environ|modules|__dict__|__builtins__",
                                                                       ast.dump(sub.value)):
                            problems.append(f"{path}:{node.lineno}: writes {ast.unparse(sub)[:60]}")
                        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                            base = sub.value
                            while isinstance(base, ast.Attribute):
                                base = base.value
                            if isinstance(base, ast.Name) and base.id in imported:
                                problems.append(f"{path}:{node.lineno}: replaces {ast.unparse(sub)[:60]}")
        # Statements run at import: only imports, definitions, assignments, docstrings, the __main__ guard, and
        # if/try blocks made of those (e.g. a version-dependent import).
        def inert(node):
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Assign, ast.AnnAssign, ast.Pass)):
                return True
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                return True
            if isinstance(node, ast.If):
                return "__main__" in ast.dump(node.test) or all(inert(n) for n in node.body + node.orelse)
            if isinstance(node, ast.Try):
                return all(inert(n) for n in node.body + node.orelse + node.finalbody) and \
                    all(inert(n) for h in node.handlers for n in h.body)
            return False

        for node in tree.body:
            if not inert(node):
                problems.append(f"{path}:{node.lineno}: runs code at import ({type(node).__name__}: "
                                f"{ast.unparse(node).splitlines()[0][:60]})")
    return problems
