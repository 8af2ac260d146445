"""Finding and reading the candidate's review note, and judging what it claims."""
import os
import re

from tfreview import failed, workspace, variant, hidden_addresses, module_files


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


def lines_of(text):
    """Non-empty lines without markdown decoration; table rows are split into their cells."""
    out = []
    in_code = False
    for l in text.splitlines():
        if l.strip().startswith("```"):
            in_code = not in_code
            continue
        if l.strip().startswith("|"):
            cells = [c.strip() for c in l.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-*:?", c) for c in cells):
                continue
            out.append(" | ".join(cells))
        elif l.strip():
            out.append(l.strip())
    return out


def prose_lines(text, min_words=6):
    return [l for l in lines_of(text) if len(words(l)) >= min_words]


def keyword_list(text):
    """True when the note reads as a list of terms rather than sentences."""
    ls = lines_of(text)
    if not ls:
        return True
    short = [l for l in ls if len(words(l)) < 5 and not l.startswith("#")]
    sentences = re.findall(r"[A-Za-z][^.!?\n|]{25,}[.!?:]", text)
    return len(short) > 0.6 * len(ls) or len(sentences) < 5


def covered(text, topics):
    low = text.lower()
    return {name: bool(re.search(rx, low, re.S)) for name, rx in topics.items()}


def mentioned_names(text):
    """Resource addresses and .tf files the note names."""
    addrs = set(re.findall(r"\b((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z_][A-Za-z0-9_-]*)", text))
    files = set(re.findall(r"(?<![\w/.-])([A-Za-z0-9_-]+\.tf(?:\.json)?)\b", text))
    return addrs, files
