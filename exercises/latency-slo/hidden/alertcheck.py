"""Shared by the alerts-* checks: load the candidate's alerts.yml and run promtool on it."""
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.environ.get("EXERCISE", "/exercise"), "hidden"))
import promtool_cases  # noqa: E402

WORKSPACE = os.environ.get("WORKSPACE", "/sandbox/root/work")
ALERTS = os.path.join(WORKSPACE, "alerts.yml")


def fail(msg, detail=""):
    print(msg)
    if detail:
        print(detail[-3500:], file=sys.stderr)
    sys.exit(1)


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
        fail("alerts.yml has no alerting rule labelled severity: page.", out)
    return pages


def run_test(test_file):
    """promtool test rules with the candidate's rules; returns (passed, output)."""
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(ALERTS, os.path.join(d, "alerts.yml"))
        promtool_cases.write_case(test_file, os.path.join(d, "test.yml"))
        r = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=d, capture_output=True, text=True, timeout=90)
        return r.returncode == 0, (r.stdout + r.stderr).strip()
