"""The incident note's parts and which causes it names, shared by incident-note and incident-review."""
import re

from lib import MISCONFIG, PORT, STRAY, read

SECTIONS = ("symptoms", "root cause", "fix", "prevention")


def note():
    text = read("/root/work/INCIDENT.md", "") or ""
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)


def sections(text):
    """heading (lower case) -> body, for the ## headings."""
    out, current = {}, None
    for line in text.splitlines():
        m = re.match(r"\s*#{1,4}\s*(.+?)\s*#*\s*$", line)
        if m:
            current = m.group(1).lower()
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def any_of(text, *words):
    return any(w.lower() in text for w in words)


def causes_named(text):
    """cause -> is it named (lower-cased text): each of this attempt's five root causes."""
    t = text.lower()
    supervisor = any_of(t, "pricebok", "typo", "no such user", "unknown user") if MISCONFIG == "user" else \
        any_of(t, "/opt/pricebook/current", "working directory", "directory")
    stray = any_of(t, "docs-preview", "docs preview") if STRAY == "supervised" else any_of(t, "http.server", "stray", "by hand")
    return {
        "supervisor misconfiguration": supervisor and any_of(t, "svcd", "supervisor", "pricebook.conf"),
        "journal ownership": any_of(t, "owner", "chown", "permission") and any_of(t, "journal", "/var/lib/pricebook", "data"),
        "deleted log held open": any_of(t, "deleted", "(deleted)", "unlinked") and any_of(t, "archiver"),
        "port taken": any_of(t, str(PORT), "port") and stray,
        "catalog.internal address": any_of(t, "catalog.internal") and any_of(t, "hosts", "netinit", "127.0.10"),
    }
