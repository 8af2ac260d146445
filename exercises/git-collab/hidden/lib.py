"""Shared helpers for the git-collab checks (runs in the grader; never executes the candidate's code or git
configuration). Repositories are read through gitsafe.Scratch: objects and refs only, hashes verified."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("EXERCISE", "/exercise"), "hidden", "cleanroom"))
from gitsafe import Missing, Scratch  # noqa: E402,F401

SANDBOX = os.environ.get("SANDBOX", "/sandbox")
WORKSPACE = os.environ.get("WORKSPACE", "/sandbox/root/work")
EXERCISE = os.environ.get("EXERCISE", "/exercise")
CLEANROOM = os.environ.get("OPSLAB_CLEANROOM_DIR", "/cleanroom/verify")
CONFLICT = os.environ.get("OPSLAB_VAR_CONFLICT", "")
BAD = os.environ.get("OPSLAB_VAR_BAD", "")
FIXTURE = os.environ.get("OPSLAB_VAR_FIXTURE", "")
PRIVATE = "lint-command"


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
    """The grader cannot judge: an error, never counted against the candidate."""
    print("This check could not run.")
    print(detail, file=sys.stderr)
    sys.exit(2)


def table():
    """This attempt's original hashes (setup builds the history deterministically; hidden/make-tables records
    them): nothing in the sandbox says what they are."""
    with open(os.path.join(EXERCISE, "hidden", "history.json")) as f:
        t = json.load(f)
    key = f"{CONFLICT}|{BAD}|{FIXTURE}"
    if key not in t:
        broken(f"no recorded history for {key}")
    return t[key]


def origin():
    """The shared server's repository (/srv/git/envkit.git) and the commit its main points at."""
    try:
        s = Scratch(os.path.join(SANDBOX, "srv/git/envkit.git"))
    except Missing:
        failed("The shared repository /srv/git/envkit.git is gone.", "no objects/ under /srv/git/envkit.git")
    main = s.rev("refs/heads/main")
    if not main:
        failed("The shared repository has no main branch.", "refs/heads/main does not resolve in /srv/git/envkit.git")
    return s, main


def clone():
    """The candidate's clone (/root/work/envkit)."""
    try:
        return Scratch(os.path.join(WORKSPACE, "envkit/.git"))
    except Missing:
        failed("The clone /root/work/envkit (with its .git) is gone.", "no /root/work/envkit/.git/objects")


def cleanroom():
    """{"main": hash or "none", "conflict": verdict, "bad": verdict} from the clean-room job (hidden/cleanroom/run.sh),
    read only after its last "::cleanroom:: results" line."""
    try:
        with open(os.path.join(CLEANROOM, "output.log"), errors="replace") as f:
            out = f.read()
    except OSError as e:
        broken(f"clean-room result missing: {e}")
    cut = out.rfind("::cleanroom:: results\n")
    if cut < 0:
        broken("the clean-room job printed no results:\n" + out[-1500:])
    markers = {}
    for line in out[cut:].splitlines()[1:]:
        if not line.startswith("::cleanroom:: "):
            continue
        parts = line[len("::cleanroom:: "):].split(" ", 2)
        if parts[0] == "main" and len(parts) >= 2:
            markers["main"] = parts[1]
        elif parts[0] == "judge" and len(parts) == 3:
            area, _, rest = parts[2].partition(" ")
            if parts[1] in ("conflict", "bad"):
                try:
                    markers[parts[1]] = json.loads(parts[2])
                except ValueError:
                    pass
    return markers, out


def verdict(area, main):
    """The clean room's verdict on `area` for the commit `main` (the one the grader sees on origin's main)."""
    m, out = cleanroom()
    if m.get("main") != main:
        broken(f"the clean room judged {m.get('main')}, origin's main is {main}")
    v = m.get(area)
    if not isinstance(v, dict):
        broken(f"no verdict on {area}:\n" + out[-1500:])
    return v


MARKER = re.compile(rb"^(<{7}|>{7})( |$)|^={7}$", re.M)


def conflict_markers(s, rev):
    """[path] of files in commit `rev` that hold conflict markers."""
    tree = s.tree(rev)
    blobs = sorted({b for p, (mode, b) in tree.items() if mode.startswith("100")})
    objs = s.read_objects(blobs)
    return sorted(p for p, (mode, b) in tree.items() if b in objs and MARKER.search(objs[b][1]))
