"""GIT_SEQUENCE_EDITOR for the private branch's interactive rebase: rewrites the todo list by commit subject.
  tidy         3 commits: duplicates (+ its fixup), key names (wip + the real commit + its squash, under the real
               commit's message), the command; the sample's add and remove dropped together
  drop-sample  only the sample's two commits dropped (the fixup!, squash! and wip commits stay)
  fold-sample  3 commits too, but the sample's add folded into the first and its removal into the second
  lose-cli     the tidy plan without the last commit (the command and its README section are lost)"""
import re
import sys

mode, path = sys.argv[1], sys.argv[-1]
lines = [l for l in open(path).read().splitlines() if l.strip() and not l.startswith("#")]
by = {}
for l in lines:
    verb, sha, subject = (l.split(" ", 2) + [""])[:3]
    key = ("p1" if subject == "lint: report keys assigned twice" else
           "p2" if subject == "wip" else
           "p3" if subject.startswith("fixup! lint: report keys") else
           "p4" if subject.startswith("add a big") else
           "p5" if subject.startswith("remove the sample") else
           "p6" if subject == "lint: report key names a shell cannot export" else
           "p7" if subject.startswith("squash! lint: report key names") else
           "p8" if subject.startswith("cli: envkit lint") else None)
    if key is None:
        sys.exit(f"todo.py: unknown commit {l!r}")
    by[key] = sha
plans = {
    "tidy": [("pick", "p1"), ("fixup", "p3"), ("pick", "p2"), ("fixup -C", "p6"), ("fixup", "p7"), ("pick", "p8")],
    "lose-cli": [("pick", "p1"), ("fixup", "p3"), ("pick", "p2"), ("fixup -C", "p6"), ("fixup", "p7")],
    "drop-sample": [("pick", k) for k in ("p1", "p2", "p3", "p6", "p7", "p8")],
    "fold-sample": [("pick", "p1"), ("fixup", "p3"), ("fixup", "p4"), ("pick", "p2"), ("fixup", "p5"),
                    ("fixup -C", "p6"), ("fixup", "p7"), ("pick", "p8")],
}
with open(path, "w") as f:
    f.write("".join(f"{verb} {by[k]}\n" for verb, k in plans[mode]))
