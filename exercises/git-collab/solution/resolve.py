"""Resolves the conflicted files of a merge, rebase or cherry-pick: every conflict block becomes both sides' lines
(`theirs-last`: ours, then theirs; `ours-last`: theirs, then ours, for a rebase where "ours" is main), which keeps
both changelog entries, both new tests and both docstring lines; expand.py, whose conflict is in code, gets the
merged module. Then stages them."""
import os
import re
import subprocess
import sys

order, conflict = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
files = subprocess.run(["git", "diff", "--name-only", "--diff-filter=U"], capture_output=True, text=True,
                       check=True).stdout.split()
block = re.compile(r"^<<<<<<< .*?\n(.*?)^(?:\|{7}.*?\n.*?)?^=======\n(.*?)^>>>>>>> .*?\n", re.S | re.M)
for path in files:
    if path == "envkit/expand.py":
        with open(os.path.join(HERE, "merged-expand.py")) as f:
            text = f.read()
    else:
        with open(path) as f:
            text = f.read()
        if order == "theirs-last":
            text = block.sub(lambda m: m.group(1) + m.group(2), text)
        else:
            text = block.sub(lambda m: m.group(2) + m.group(1), text)
        # Two test methods side by side: the blank line between them.
        text = re.sub(r"(\n        [^\n]+\n)(    def )", r"\1\n\2", text)
    with open(path, "w") as f:
        f.write(text)
    subprocess.run(["git", "add", path], check=True)
