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
    """(exit code, output, {marker: value}) of the clean-room job; markers are the last ::cleanroom:: lines."""
    try:
        with open(os.path.join(CLEANROOM, "exit-code")) as f:
            code = int(f.read().strip() or "-1")
        with open(os.path.join(CLEANROOM, "output.log"), errors="replace") as f:
            out = f.read()
    except (OSError, ValueError) as e:
        broken(f"clean-room result missing: {e}")
    markers = {}
    first = None
    for m in re.finditer(r"^::cleanroom:: (.*)$", out, re.M):
        first = m.start() if first is None else first
        line = m.group(1).strip()
        if line.startswith("tests "):
            kv = dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
            markers["tests:" + kv.get("zone", "?")] = kv
        elif line.startswith("deploy "):
            markers["deploy"] = line[len("deploy "):]
        elif "=" in line:
            k, v = line.split("=", 1)
            markers[k] = v
    cut = out.rfind("::cleanroom:: pipeline-exit=")
    pipeline_part = out[:cut] if cut >= 0 else out
    return code, out, markers, pipeline_part


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
