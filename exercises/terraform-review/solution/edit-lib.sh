# Helpers for the near-miss answers in wrong/ (sourced, not run).

# del_blocks FILE REGEX: deletes every top-level HCL block whose header line matches REGEX.
del_blocks() { python3 - "$@" <<'PY'
import re, sys
path, pattern = sys.argv[1], re.compile(sys.argv[2])
out, skip, depth = [], False, 0
for line in open(path).read().splitlines(keepends=True):
    if not skip and pattern.match(line):
        skip, depth = True, 0
    if skip:
        depth += line.count("{") - line.count("}")
        if depth <= 0 and "}" in line:
            skip = False
        continue
    out.append(line)
open(path, "w").write("".join(out))
PY
}
