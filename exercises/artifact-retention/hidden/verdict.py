"""Shared by the artifact-retention checks (runs in the grader; never executes candidate code): reads the clean-room
judge's result line and turns one group of it into a verdict."""
import json
import os
import sys

CLEANROOM = "/cleanroom/retain"
PREFIX = "OPSLAB-RESULT "


def broken(detail):
    """The grader cannot judge: an error, never counted against the candidate."""
    print("This check could not run.")
    print(detail, file=sys.stderr)
    sys.exit(2)


def result():
    try:
        with open(os.path.join(CLEANROOM, "output.log"), encoding="utf-8", errors="replace") as f:
            log = f.read()
        with open(os.path.join(CLEANROOM, "exit-code")) as f:
            code = f.read().strip()
    except OSError as e:
        broken(f"no clean-room result: {e}")
    # The judge's own line: the candidate's script never writes to the job's output (the judge captures it), so
    # the last such line is the judge's.
    lines = [l for l in log.splitlines() if l.startswith(PREFIX)]
    if code != "0" or not lines:
        broken(f"the judge did not finish (job exit {code}); its output ends:\n{log[-1500:]}")
    return json.loads(lines[-1][len(PREFIX):])


def evidence_text(group):
    out = []
    for e in group.get("evidence", [])[:3]:
        out.append(f"$ {e['cmd']}   (exit {e['exit']})")
        if e.get("stdout"):
            out.append("stdout: " + e["stdout"].strip()[-400:])
        if e.get("stderr"):
            out.append("stderr: " + e["stderr"].strip()[-400:])
    return "\n".join(out)


def judge(group_id, passed_msg, failed_msg):
    """Exit 0 (pass), 1 (fail) or 2 (the judge broke) for one group of the judge's result."""
    group = result()["groups"].get(group_id)
    if group is None:
        broken(f"the judge has no result for {group_id}")
    detail = f"{group['why']}\n{evidence_text(group)}"
    if group["ok"] is None:
        broken(detail)
    if group["ok"]:
        print(passed_msg)
        print(detail, file=sys.stderr)
        sys.exit(0)
    print(failed_msg)
    print(detail[-3500:], file=sys.stderr)
    sys.exit(1)
