#!/bin/bash
# The clean-room job of git-collab (root, cwd = the copy of /srv/git; this directory is /opt/opslab-hidden).
# 1. The grader's own material is made unreadable to everyone but root (the package runs as `nobody`).
# 2. origin's main is read with gitsafe.py (objects and refs only, hashes verified; no configuration, hooks,
#    attributes, filters or grafts of the candidate's take part) and the regular *.py files of its envkit/ are
#    written, root's and read-only, to a tree of their own.
# 3. judge.py evaluates this run's inputs on that package (harness.py, as nobody, env -i, python3 -I) and compares
#    the answers with its own reference. The checks read only what follows the last "::cleanroom:: results" line.
set -u
H=/opt/opslab-hidden
SRC=$PWD
chmod -R go-rwx "$H"
V=$(mktemp -d /opt/git-collab.XXXXXX) || exit 97
chmod 0755 "$V" && mkdir -p "$V/tree" && install -m 0644 "$H/harness.py" "$V/harness.py" || exit 97
main=$(cd / && python3 -I -B - "$SRC/envkit.git" "$V/tree" <<'PY' 2>"$V/extract.err"
import os, sys
sys.path.insert(0, "/opt/opslab-hidden")
from gitsafe import Missing, Scratch
try:
    s = Scratch(sys.argv[1])
except Missing:
    print("none"); sys.exit(0)
head = s.rev("refs/heads/main")
if not head:
    print("none"); sys.exit(0)
tree = {p: b for p, (mode, b) in s.tree(head).items() if p.startswith("envkit/") and p.endswith(".py")
        and mode in ("100644", "100755") and ".." not in p.split("/")}
objs = s.read_objects(sorted(set(tree.values())))
for p, b in tree.items():
    dst = os.path.join(sys.argv[2], p)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "wb") as f:
        f.write(objs[b][1])
print(head)
s.close()
PY
)
chmod -R a+rX,go-w "$V"
results=()
if [ -n "$main" ] && [ "$main" != none ]; then
  (cd / && timeout -k 5 120 python3 -I -B "$H/judge.py" "$V/tree" "$V/harness.py") </dev/null >"$V/judge" 2>"$V/judge.err"
  pkill -KILL -u nobody 2>/dev/null
  while IFS= read -r l; do results+=("judge $l"); done < <(grep -E '^(conflict|bad) ' "$V/judge")
  [ -s "$V/judge.err" ] && tail -c 1500 "$V/judge.err" | sed 's/^/judge-error: /'
fi
[ -s "$V/extract.err" ] && tail -c 1500 "$V/extract.err" | sed 's/^/extract-error: /'
rm -rf "$V"
printf '::cleanroom:: %s\n' results "main ${main:-none}"
for l in "${results[@]}"; do printf '::cleanroom:: %s\n' "$l"; done
exit 0
