"""Shared by the alerts-* checks: the candidate's alerts.yml as promtool sees it (alerts-valid), and the verdicts of
the `alerts` clean-room job (hidden/alerts/evaluate.py), which evaluates the rules with a real Prometheus over
the recorded timeline of hidden/alerts/timeline.py at realistic timestamps (alerts-fire, alerts-quiet)."""
import json
import os
import subprocess
import sys
import time

import yaml

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.environ.get("EXERCISE", "/exercise"), "hidden", "alerts"))
import timeline  # noqa: E402

SANDBOX = os.environ.get("SANDBOX", "/sandbox")
WORKSPACE = os.environ.get("WORKSPACE", "/sandbox/root/work")
ALERTS = os.path.join(WORKSPACE, "alerts.yml")
JOB = "/cleanroom/alerts"


def fail(msg, detail=""):
    print(msg)
    if detail:
        print(detail[-3500:], file=sys.stderr)
    sys.exit(1)


def error(msg, detail=""):
    print(msg)
    if detail:
        print(detail[-3500:], file=sys.stderr)
    sys.exit(2)


def link_note():
    """Where alerts.yml pointed outside the copied files, the copy holds an empty file: say so."""
    try:
        for line in open(os.path.join(SANDBOX, ".opslab-links")):
            if line.startswith("/root/work/alerts.yml ->"):
                return f" (alerts.yml is a link that leaves the collected files: {line.strip()})"
    except OSError:
        pass
    return ""


def check_rules():
    """promtool check rules; returns (ok, output)."""
    r = subprocess.run(["promtool", "check", "rules", ALERTS], capture_output=True, text=True, timeout=30)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def page_alerts():
    """The alerting rules labelled severity=page, as dicts."""
    with open(ALERTS) as f:
        doc = yaml.safe_load(f) or {}
    out = []
    for g in doc.get("groups") or []:
        for rule in (g or {}).get("rules") or []:
            if isinstance(rule, dict) and "alert" in rule and str((rule.get("labels") or {}).get("severity")) == "page":
                out.append(rule)
    return out


def usable_alerts():
    """Fail (exit 1) unless alerts.yml exists, is valid and has a page alert; else return the page alerts."""
    if not os.path.isfile(ALERTS):
        fail("There is no alerts.yml in the workspace.", f"{ALERTS} missing")
    ok, out = check_rules()
    if not ok:
        fail("alerts.yml is not a valid Prometheus rule file (promtool check rules fails).", out)
    pages = page_alerts()
    if not pages:
        fail("alerts.yml has no alerting rule labelled severity: page.", out + link_note())
    return pages


def evaluation():
    """The clean-room evaluation: (t0, [(alert, labels, intervals in minutes)], notes). Exits 1 when the rules
    did not load, 2 when the job itself broke."""
    usable_alerts()
    try:
        text = open(os.path.join(JOB, "output.log"), errors="replace").read()
    except OSError:
        error("The clean-room evaluation of the alerts did not run.", "no /cleanroom/alerts/output.log")
    lines = []
    for line in text.splitlines():
        if line.startswith("::cleanroom:: "):
            try:
                lines.append(json.loads(line[len("::cleanroom:: "):]))
            except ValueError:
                pass
    load = next((r for r in lines if r.get("kind") == "load"), None)
    if load and not load.get("ok"):
        fail("Prometheus does not load alerts.yml as its rule file.", load.get("detail", ""))
    start = next((r for r in lines if r.get("kind") == "timeline"), None)
    done = any(r.get("kind") == "done" for r in lines)
    if not start or not done:
        error("The clean-room evaluation of the alerts did not complete.", text[-3000:])
    notes = [r for r in lines if r.get("kind") in ("rules", "alert-error", "too-many")]
    firing = [(r["alert"], r["labels"], r["intervals"]) for r in lines if r.get("kind") == "firing"]
    overflow = [r for r in lines if r.get("kind") == "too-many" or r.get("truncated")]
    return start["t0"], firing, notes, overflow


def at(t0, minute):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0 + minute * 60))


def firing_at(intervals, minute):
    return any(a <= minute < b for a, b in intervals)


def firing_during(intervals, lo, hi):
    return [max(a, lo) for a, b in intervals if a < hi and b > lo]


def name(alert, labels):
    extra = {k: v for k, v in labels.items() if k != "severity"}
    return alert + (json.dumps(extra, sort_keys=True) if extra else "")
