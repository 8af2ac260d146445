"""The clean-room judge of artifact-retention: runs the candidate's `retain` against the grader's own trees and
records what it did to them. It never imports or sources the candidate's code, and trusts nothing it prints.

  env -i ... python3 -I -B /opt/opslab-hidden/judge.py        (cwd: the copy of /root/work)

Runs as root in a throwaway container. The candidate's script runs as an unprivileged user (uid 4242) that owns
the trees it works on (and the "outside" directories beside them, so that a script that strays could do damage),
with stdin closed and its output captured here: nothing it prints reaches this job's output except as quoted
evidence. After every run every process of that user is killed before the tree is looked at, so nothing left
running can change a tree afterwards. The trees are drawn from the attempt's seed: a regrade sees the same ones.

The result is one line on stdout: `OPSLAB-RESULT <json>`, {"groups": {group: {"ok": bool, "why": str, "evidence":
[...]}}, "nonce": ...}; the checks read it from /cleanroom/retain/output.log and judge nothing themselves.
"""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

UID = GID = 4242
ORDER = os.environ.get("OPSLAB_VAR_ORDER", "build-number")
USAGE_EXIT = int(os.environ.get("OPSLAB_VAR_USAGE_EXIT", "2"))
SEED = os.environ.get("OPSLAB_SEED", "dev")
HIDDEN = "/opt/opslab-hidden"
UNDER_TEST = "/srv/under-test"
SCRATCH = "/srv/scratch"
RUN_TIMEOUT = 10
KEY_FILE = "BUILD_NUMBER" if ORDER == "build-number" else "FINISHED_AT"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

rng = random.Random(hashlib.sha256(f"artifact-retention:{SEED}".encode()).digest())


# ---- the policy, as the grader understands it -------------------------------------------------------------------
def key_of(text):
    """The sort key of a build from its key file's text, or None when the build has no valid key."""
    v = text.strip()
    if ORDER == "build-number":
        return int(v) if re.fullmatch(r"[0-9]{1,9}", v) else None
    return v if TS_RE.fullmatch(v) else None


def key_text(n):
    """The key file's content for the n-th oldest build (n ascending = newer)."""
    if ORDER == "build-number":
        return f"{n}\n"
    t = time.gmtime(1_735_689_600 + n * 3_613)  # from 2025-01-01, an hour and a bit apart
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t) + "\n"


# ---- trees ----------------------------------------------------------------------------------------------------
def write(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())
    os.chmod(path, mode)


def make_build(path, n, mtime=None, key=True):
    os.makedirs(os.path.join(path, "logs"), exist_ok=True)
    write(os.path.join(path, "app.tar.gz"), rng.randbytes(rng.randint(64, 512)))
    write(os.path.join(path, "logs", "build.log"), f"build {n} ok\n")
    if key is True:
        write(os.path.join(path, KEY_FILE), key_text(n))
    elif key is not None:
        write(os.path.join(path, KEY_FILE), key)
    if mtime is not None:
        for dirpath, dirnames, filenames in os.walk(path):
            for name in filenames + dirnames:
                os.utime(os.path.join(dirpath, name), (mtime, mtime), follow_symlinks=False)
        os.utime(path, (mtime, mtime))


def key_numbers(count, cross=False):
    """`count` distinct build numbers, shuffled; with `cross`, some of them one digit shorter than others (9 < 10)."""
    nums = set()
    if cross and count >= 3:
        base = rng.choice([10, 100, 1000])
        below = rng.randint(1, count - 2)
        nums = set(range(base - below, base + 2))
    while len(nums) < count:
        nums.add(rng.randint(1, 5000))
    return rng.sample(sorted(nums), count)  # shuffled: directory order says nothing


def build_project(root, name, names, keep, cross=False, mtime_trap=True):
    """A project of real builds with valid keys; returns the build names the policy removes."""
    nums = key_numbers(len(names), cross)
    project = os.path.join(root, name)
    os.makedirs(project, exist_ok=True)
    # mtimes in the opposite order of the keys: a script that sorts by time instead of the key gets it wrong.
    now = time.time()
    for bname, n in zip(names, nums):
        make_build(os.path.join(project, bname), n, mtime=(now - n * 60) if mtime_trap else None)
    ranked = sorted(zip(names, nums), key=lambda p: key_of(key_text(p[1])), reverse=True)
    return [b for b, _ in ranked[keep:]]


def plain_names(count, prefix="build"):
    names = set()
    while len(names) < count:
        names.add(rng.choice([f"{prefix}-{rng.randint(100, 999)}", f"{rng.getrandbits(24):06x}", f"{prefix}_{rng.randint(10, 99)}"]))
    return sorted(names)


PROJECT_NAMES = ["web-frontend", "billing-api", "docs-site", "payments", "search-indexer", "mobile-app", "infra-tools"]


def snapshot(top):
    """Everything under `top` (but the case's home directory), links not followed:
    {relpath: (type, mode, content hash or link target)}."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if dirpath == top and "home" in dirnames and os.path.basename(top) != "art":
            dirnames.remove("home")
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, top)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), "")
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(f.read()).hexdigest())
            else:
                out[rel] = ("other", 0, "")
    return out


def without(snap, removed_dirs):
    """The snapshot with these directories (and all below them) gone."""
    gone = tuple(removed_dirs)
    return {k: v for k, v in snap.items() if not any(k == g or k.startswith(g + "/") for g in gone)}


def differences(before, after, limit=6):
    lines = []
    for k in sorted(set(before) | set(after)):
        if before.get(k) != after.get(k):
            what = "missing" if k not in after else "unexpected" if k not in before else "changed"
            lines.append(f"{what}: {k!r}")
    return lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])


def chown_tree(top):
    os.chown(top, UID, GID)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), UID, GID, follow_symlinks=False)


def new_case(name):
    top = os.path.join(SCRATCH, name)
    os.makedirs(os.path.join(top, "home"))
    return top


# ---- running the candidate's script -------------------------------------------------------------------------------
def kill_user_processes():
    """Every process of the candidate's user, killed; waits until none is left."""
    for _ in range(50):
        left = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                uid, state = int(fields["Uid"].split()[0]), fields["State"].split()[0]
            except (OSError, KeyError, ValueError, IndexError):
                continue
            # A zombie runs nothing any more (its parent, or the container's init, reaps it).
            if uid == UID and state != "Z":
                left.append(int(pid))
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        if not left:
            return
        time.sleep(0.05)


def run(case_dir, args):
    script = os.path.join(UNDER_TEST, "retain")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": os.path.join(case_dir, "home")}
    try:
        p = subprocess.run([script, *args], cwd=case_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=RUN_TIMEOUT, user=UID, group=GID, extra_groups=[], start_new_session=True)
        res = {"exit": p.returncode, "stdout": p.stdout.decode("utf-8", "replace"), "stderr": p.stderr.decode("utf-8", "replace")}
    except subprocess.TimeoutExpired as e:
        res = {"exit": None, "stdout": (e.stdout or b"").decode("utf-8", "replace"), "stderr": f"(timed out after {RUN_TIMEOUT} s)"}
    except OSError as e:
        res = {"exit": None, "stdout": "", "stderr": f"(could not be run: {e.strerror})"}
    kill_user_processes()
    return res


def run_on_tree(top, args):
    """Hands the case's tree to the candidate's user, runs the script once on it, and returns the tree before (all of
    `top` but the home directory), the run, and the tree after."""
    chown_tree(top)
    before = snapshot(top)
    res = run(top, args)
    return before, res, snapshot(top)


def shown(args):
    return "retain " + " ".join(json.dumps(a) if (not a or re.search(r"[^\w./=-]", a)) else a for a in args)


def evidence(args, res):
    return {"cmd": shown(args), "exit": res["exit"], "stdout": res["stdout"][-600:], "stderr": res["stderr"][-600:]}


# ---- the groups of cases, one per check ------------------------------------------------------------------------------
def basic_tree(top, keep, cross=True):
    root = os.path.join(top, "art")
    os.makedirs(root)
    removed = []
    projects = rng.sample(PROJECT_NAMES, 3)
    for i, pname in enumerate(projects):
        # The last project has no more builds than it keeps: nothing goes there.
        count = keep if i == 2 else rng.randint(keep + 2, keep + 5)
        removed += [f"{pname}/{b}" for b in build_project(root, pname, plain_names(count), keep, cross=cross and i == 0)]
    return root, removed


def group_prunes():
    ev = []
    for label, rel in (("absolute", False), ("relative", True)):
        top = new_case(f"prunes-{label}")
        keep = rng.randint(2, 3)
        root, removed = basic_tree(top, keep)
        chown_tree(top)
        before = snapshot(root)
        args = ["--keep", str(keep), "art/" if rel else root]
        res = run(top, args)
        after = snapshot(root)
        expected = without(before, removed)
        ev.append(evidence(args, res))
        if res["exit"] != 0:
            return {"ok": False, "why": f"exited {res['exit']} on a valid call", "evidence": ev}
        if after != expected:
            diff = differences(expected, after)
            return {"ok": False, "why": f"the tree is not what the policy leaves (keep {keep}, ROOT {'relative' if rel else 'absolute'}): " + "; ".join(diff), "evidence": ev}
    return {"ok": True, "why": "two trees pruned exactly as the policy says (absolute and relative ROOT)", "evidence": ev}


def group_twice():
    top = new_case("twice")
    keep = rng.randint(2, 3)
    root, removed = basic_tree(top, keep)
    chown_tree(top)
    before = snapshot(root)
    args = ["--keep", str(keep), root]
    first = run(top, args)
    mid = snapshot(root)
    second = run(top, args)
    after = snapshot(root)
    ev = [evidence(args, first), evidence(args, second)]
    if first["exit"] != 0 or mid == before:
        return {"ok": False, "why": f"the first run exited {first['exit']} and {'changed nothing' if mid == before else 'changed the tree'}", "evidence": ev}
    if second["exit"] != 0:
        return {"ok": False, "why": f"the second run, with nothing left to do, exited {second['exit']}", "evidence": ev}
    if after != mid:
        return {"ok": False, "why": "the second run changed the tree again: " + "; ".join(differences(mid, after)), "evidence": ev}
    return {"ok": True, "why": "a second run exits 0 and changes nothing", "evidence": ev}


def group_bad_input():
    top = new_case("bad-input")
    keep = 2
    root, _ = basic_tree(top, keep, cross=False)
    write(os.path.join(top, "not-a-dir"), "a file\n")
    chown_tree(top)
    calls = [
        ["--keep", "0", root], ["--keep", "-1", root], ["--keep", "abc", root], ["--keep", "2.5", root],
        ["--keep", "", root], ["--keep", "3x", root], [root], ["--keep"], ["--keep", "2"],
        ["--keep", "2", root + "-missing"], ["--keep", "2", os.path.join(top, "not-a-dir")],
        ["--keep", "2", "--force", root], ["--keep", "2", root, root],
    ]
    ev = []
    before = snapshot(top)
    for args in calls:
        res = run(top, [a for a in args])
        ev.append(evidence(args, res))
        after = snapshot(top)
        if res["exit"] != USAGE_EXIT or not res["stderr"].strip() or after != before:
            problems = []
            if res["exit"] != USAGE_EXIT:
                problems.append(f"exit status {res['exit']}, not {USAGE_EXIT}")
            if not res["stderr"].strip():
                problems.append("no message on stderr")
            if after != before:
                problems.append("the tree changed: " + "; ".join(differences(before, after, 3)))
            return {"ok": False, "why": f"`{shown(args)}`: " + ", ".join(problems), "evidence": ev[-1:]}
    args = ["--keep", str(keep), root]
    res = run(top, args)
    ev.append(evidence(args, res))
    if res["exit"] != 0:
        return {"ok": False, "why": f"a valid call after the bad ones exited {res['exit']}", "evidence": ev[-1:]}
    return {"ok": True, "why": f"{len(calls)} bad calls refused with status {USAGE_EXIT} and a message, nothing touched; a valid one runs", "evidence": ev[:3]}


HOSTILE_BUILDS = ["build 7", "--keep", "-n 3", "*", "$(touch pwned)", "a\nb", "tab\there", "'quoted'", '"dq"',
                  "ünïcode", "back\\slash", ".dotted", "-", "[abc]", "x;y", "~tilde"]
HOSTILE_PROJECTS = ["my project", "-rf", "new\nline", ".hidden-project"]


def group_hostile():
    top = new_case("hostile")
    root = os.path.join(top, "art")
    os.makedirs(root)
    keep = 2
    removed = []
    for pname in HOSTILE_PROJECTS:
        names = rng.sample(HOSTILE_BUILDS, rng.randint(5, 7))
        removed += [f"{pname}/{b}" for b in build_project(root, pname, names, keep, cross=True)]
    args = ["--keep", str(keep), root]
    before, res, after = run_on_tree(top, args)
    ev = [evidence(args, res)]
    if res["exit"] != 0:
        return {"ok": False, "why": f"exited {res['exit']} on a tree with unusual names", "evidence": ev}
    pwned = [k for k in after if os.path.basename(k) == "pwned"] + (["/tmp/pwned"] if os.path.exists("/tmp/pwned") else [])
    if pwned:
        return {"ok": False, "why": f"a build's name was run as a command: {pwned[0]!r} was created", "evidence": ev}
    expected = without(before, [f"art/{r}" for r in removed])
    if after != expected:
        return {"ok": False, "why": "names with spaces, newlines, leading dashes, glob or shell characters were mishandled: " + "; ".join(differences(expected, after)), "evidence": ev}
    return {"ok": True, "why": "pruned exactly, names with spaces, newlines, dashes and shell characters included", "evidence": ev}


def group_inside():
    top = new_case("inside")
    root = os.path.join(top, "art")
    outside = os.path.join(top, "outside")
    keep = 2
    # Beside ROOT: a directory whose name starts like it, with builds the policy would prune if it were inside.
    build_project(os.path.join(top, "art-old"), "web-frontend", plain_names(5), keep)
    build_project(outside, "archived", plain_names(5), keep)
    make_build(os.path.join(outside, "old-build"), 1)
    os.makedirs(os.path.join(outside, "data"))
    write(os.path.join(outside, "data", "precious.bin"), rng.randbytes(256))
    write(os.path.join(outside, "keep.log"), "outside the artifacts\n")
    names = plain_names(6)
    removed = build_project(root, "payments", names, keep)
    # A project that is a link to a directory outside: not followed, left as it is.
    os.symlink("../outside/archived", os.path.join(root, "linked-project"))
    # A build that is a link (with the lowest key of its project if followed): not a build, left as it is.
    os.symlink(os.path.join(outside, "old-build"), os.path.join(root, "payments", "build-link"))
    # Links inside a build that goes: removed with it, their targets stay.
    victim = os.path.join(root, "payments", removed[0])
    os.symlink(os.path.join(outside, "keep.log"), os.path.join(victim, "latest.log"))
    os.symlink("../../../outside/data", os.path.join(victim, "data"))
    # Files (not directories) in ROOT and in a project are neither projects nor builds.
    write(os.path.join(root, "README"), "artifacts of the build farm\n")
    write(os.path.join(root, "payments", "retention.txt"), "keep the latest builds\n")
    args = ["--keep", str(keep), root]
    before, res, after = run_on_tree(top, args)
    ev = [evidence(args, res)]
    if res["exit"] != 0:
        return {"ok": False, "why": f"exited {res['exit']} on a tree with links", "evidence": ev}
    outside_keys = [k for k in before if not k.startswith("art/")]
    changed_outside = [k for k in outside_keys if after.get(k) != before[k]] + [k for k in after if not k.startswith("art/") and k not in before]
    if changed_outside:
        return {"ok": False, "why": "files outside ROOT changed: " + "; ".join(repr(k) for k in changed_outside[:5]), "evidence": ev}
    links = ["art/linked-project", "art/payments/build-link"]
    broken = [k for k in links if after.get(k) != before[k]]
    if broken:
        return {"ok": False, "why": "a link where a project or build would be was followed or removed: " + ", ".join(broken), "evidence": ev}
    files = ["art/README", "art/payments/retention.txt"]
    gone = [k for k in files if after.get(k) != before[k]]
    if gone:
        return {"ok": False, "why": "a plain file in ROOT or in a project was touched: " + ", ".join(gone), "evidence": ev}
    if not any(f"art/payments/{b}" not in after for b in removed):
        return {"ok": False, "why": "nothing inside ROOT was pruned", "evidence": ev}
    return {"ok": True, "why": "only ROOT's real builds were pruned: links and everything outside ROOT as they were", "evidence": ev}


def group_invalid():
    top = new_case("invalid")
    root = os.path.join(top, "art")
    keep = 2
    valid = plain_names(5)
    build_project(root, "search-indexer", valid, keep)
    bad_values = ["", "\n", "next\n", "12a\n", "v7\n", "-5\n"] if ORDER == "build-number" else \
        ["", "\n", "yesterday\n", "2026-03-04 05:06:07\n", "2026-03-04T05:06:07+01:00\n", "1735689600\n"]
    invalid = []
    for i, v in enumerate(rng.sample(bad_values, 3)):
        name = f"unfinished-{i}"
        make_build(os.path.join(root, "search-indexer", name), 0, key=v)
        invalid.append(name)
    name = "no-key"
    make_build(os.path.join(root, "search-indexer", name), 0, key=None)
    invalid.append(name)
    chown_tree(top)
    args = ["--keep", str(keep), root]
    res = run(top, args)
    ev = [evidence(args, res)]
    if res["exit"] != 0:
        return {"ok": False, "why": f"exited {res['exit']} on a project with builds that have no valid key", "evidence": ev}
    project = os.path.join(root, "search-indexer")
    left = set(os.listdir(project)) if os.path.isdir(project) else set()
    missing = [n for n in invalid if n not in left]
    if missing:
        return {"ok": False, "why": f"builds without a valid {KEY_FILE} were removed: {', '.join(missing)}", "evidence": ev}
    kept_valid = [n for n in valid if n in left]
    if len(kept_valid) != keep:
        return {"ok": False, "why": f"{len(kept_valid)} of the {len(valid)} builds with a valid key were kept, not {keep} (builds without one count for nothing)", "evidence": ev}
    return {"ok": True, "why": f"builds without a valid {KEY_FILE} left alone and not counted", "evidence": ev}


def group_dry_run():
    top = new_case("dry-run")
    keep = 2
    root, removed = basic_tree(top, keep, cross=False)
    args = ["--dry-run", "--keep", str(keep), root]
    before, res, after = run_on_tree(top, args)
    ev = [evidence(args, res)]
    if res["exit"] != 0:
        return {"ok": False, "why": f"exited {res['exit']} with --dry-run", "evidence": ev}
    if after != before:
        return {"ok": False, "why": "--dry-run changed the tree: " + "; ".join(differences(before, after, 3)), "evidence": ev}
    builds = {f"{p}/{b}" for p in os.listdir(root) for b in os.listdir(os.path.join(root, p))}
    lines = [line[len("would remove "):] for line in res["stdout"].splitlines() if line.startswith("would remove ")]
    named = {line for line in lines if line in builds}
    if len(named) != len(removed):
        return {"ok": False, "why": f"--dry-run named {len(named)} builds on `would remove` lines, not the {len(removed)} that would go", "evidence": ev}
    return {"ok": True, "why": "--dry-run names what would go and changes nothing", "evidence": ev}


GROUPS = {"prunes-builds": group_prunes, "runs-twice": group_twice, "rejects-bad-input": group_bad_input,
          "hostile-names": group_hostile, "stays-inside": group_inside, "skips-invalid": group_invalid,
          "dry-run": group_dry_run}


def prepare():
    # The grader's own material is nobody else's to read once the candidate's code runs.
    for dirpath, dirnames, filenames in os.walk(HIDDEN):
        os.chmod(dirpath, 0o700)
    copy = os.getcwd()
    shutil.copytree(copy, UNDER_TEST, symlinks=True)
    # Root's, readable and (where the candidate made it so) executable by everyone, writable by root only: the
    # script cannot change itself between runs.
    for dirpath, dirnames, filenames in os.walk(UNDER_TEST):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            os.chown(p, 0, 0, follow_symlinks=False)
            if os.path.islink(p):
                continue
            mode = os.lstat(p).st_mode
            os.chmod(p, 0o755 if stat.S_ISDIR(mode) or mode & 0o111 else 0o644)
    os.chmod(UNDER_TEST, 0o755)
    os.makedirs(SCRATCH)
    os.chmod(SCRATCH, 0o755)
    os.chmod("/srv", 0o755)


def main():
    prepare()
    script = os.path.join(UNDER_TEST, "retain")
    result = {"order": ORDER, "usageExit": USAGE_EXIT, "groups": {}}
    if not os.path.isfile(script) or os.path.islink(script):
        for g in GROUPS:
            result["groups"][g] = {"ok": False, "why": "there is no script /root/work/retain to run", "evidence": []}
    else:
        for g, fn in GROUPS.items():
            try:
                result["groups"][g] = fn()
            except Exception as e:  # the judge broke: an error for the checks, never a fail
                result["groups"][g] = {"ok": None, "why": f"the judge failed: {type(e).__name__}: {e}", "evidence": []}
    sys.stdout.write("OPSLAB-RESULT " + json.dumps(result, separators=(",", ":")) + "\n")
    sys.stdout.flush()


main()
