"""The triage note, read for the two note checks (triage-note: what the grader verifies; triage-explained: what a
person judges). Runs in the grader; the note is only ever read."""
import os
import re

from lib import GENERIC_TOKEN, REPO, WORKSPACE, failed, strip_ts, tokens

QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
FUNCTION_WORDS = {"the", "a", "an", "is", "was", "were", "are", "to", "of", "in", "on", "and", "for", "that", "it",
                  "because", "so", "with", "by", "from", "not", "which", "when", "as", "at", "but", "this", "has",
                  "had", "be", "into", "its", "we", "no", "after", "before", "only", "then", "than", "can", "could",
                  "should", "would", "will", "did", "does"}


def normal(s):
    s = strip_ts(s.strip())
    s = re.sub(r"^\$\s+", "", s)
    s = re.sub(r"\b\d+\.\d+s\b", "Ns", s)
    s = re.sub(r"\((?:tests\.)?(test_\w+\.)", r"(\1", s)  # the same test, run from the repository root
    return re.sub(r"\s+", " ", s).strip()


def load():
    """(where, text) of TRIAGE.md (in /root/work, or in the repository); fails when there is none or it holds a
    credential."""
    path = next((p for p in (os.path.join(WORKSPACE, "TRIAGE.md"), os.path.join(REPO, "TRIAGE.md"))
                 if os.path.isfile(p) and not os.path.islink(p)), None)
    if path is None:
        failed("There is no triage note: write /root/work/TRIAGE.md.")
    with open(path, errors="replace") as f:
        note = f.read()[:200_000]
    if any(v in note for v in tokens().values()) or GENERIC_TOKEN.search(note):
        failed("The triage note contains a credential; never paste secrets into notes or tickets.")
    return path[len(os.environ.get("SANDBOX", "/sandbox")):], note.translate(QUOTES)


def split(note):
    """(quoted material: code spans, code blocks, block quotes, "double-quoted" strings, normalised; the prose lines
    with code spans replaced)."""
    quoted, prose_lines, fence = [], [], False
    for raw in note.splitlines():
        if raw.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence or raw.startswith(("    ", "\t")):
            quoted.append(raw)
            continue
        if raw.lstrip().startswith(">"):
            quoted.append(raw.lstrip()[1:])
        quoted += re.findall(r"`([^`\n]+)`", raw)
        quoted += [q for q in re.findall(r'"([^"\n]{12,})"', raw)]
        prose_lines.append(re.sub(r"`[^`\n]*`", " code ", raw))
    return [q for q in (normal(x) for x in quoted) if len(q) >= 6], prose_lines


def sentences(prose_lines):
    """The real sentences: six words or more, with at least two function words (not a list of keywords)."""
    chunks = [s for s in re.split(r"[.!?](?:\s|$)|\n\s*\n", "\n".join(prose_lines)) if s.strip()]
    return [s for s in chunks
            if len(re.findall(r"[A-Za-z][\w'-]*", s)) >= 6
            and len({w.lower() for w in re.findall(r"[A-Za-z]+", s)} & FUNCTION_WORDS) >= 2]
