"""PR.md, split into its parts: a title and the sections What, Why, How tested, Risk (Markdown headings, or lines
that start with the label in bold or followed by a colon)."""
import os
import re

from lib import WORKSPACE, failed

LABELS = {
    "what": r"what|summary|changes?|description|overview",
    "why": r"why|motivation|context|background|reason",
    "tested": r"how\s+(?:was\s+it\s+|it\s+was\s+|i\s+)?tested|testing|tests?|verification|how\s+to\s+test",
    "risk": r"risks?|impact|rollback|risk\s+and\s+rollback",
}
HEADING = [re.compile(r"^\s{0,3}#{1,6}\s+(?P<label>.+?)\s*#*\s*$()"),
           re.compile(r"^\s*(\*\*|__)(?P<label>.+?)(\*\*|__)\s*:?\s*(?P<rest>.*)$"),
           re.compile(r"^\s*(?P<label>[A-Za-z][A-Za-z ]{1,30}):\s*(?P<rest>.*)$")]


def load():
    path = os.path.join(WORKSPACE, "PR.md")
    if os.path.islink(path) or not os.path.isfile(path):
        failed("There is no pull-request description in /root/work/PR.md.", "no regular file /root/work/PR.md")
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read(64 * 1024)


def sections(text):
    """(title, {part: text})"""
    title, parts, current = "", {}, None
    for line in text.splitlines():
        if not title and line.strip():
            title = re.sub(r"^#+\s*", "", line).strip()
            continue
        found, rest = None, ""
        for rx in HEADING:
            m = rx.match(line)
            if not m:
                continue
            label = m.group("label").strip().strip("*_").strip().rstrip("?:").strip()
            for part, lrx in LABELS.items():
                if re.fullmatch(rf"(?:{lrx})", label, re.I):
                    found, rest = part, (m.groupdict().get("rest") or "")
                    break
            break
        if found:
            current = found
            parts.setdefault(current, "")
            if rest.strip():
                parts[current] += rest + "\n"
        elif current:
            parts[current] += line + "\n"
    return title, parts


def words(text):
    return re.findall(r"[A-Za-z][A-Za-z'-]+", text)


def sentences(text):
    return [s for s in re.split(r"(?<=[.!?])\s+|\n\s*[-*]\s+", text) if len(words(s)) >= 5]
