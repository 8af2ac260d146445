"""Finding and reading the candidate's review note."""
import os
import re

from tfreview import failed, workspace


def note():
    ws = workspace()
    for cand in ("REVIEW.md", "review.md", "Review.md", "REVIEW.markdown", "infra/REVIEW.md"):
        path = os.path.join(ws, cand)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                text = f.read(256 * 1024).decode("utf-8", "replace")
            return cand, text
    failed("No review note found at /root/work/REVIEW.md.", f"no REVIEW.md under {ws}")


def words(text):
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9'_./:*-]*", text)


def covered(text, topics):
    low = text.lower()
    return {name: bool(re.search(rx, low, re.S)) for name, rx in topics.items()}
