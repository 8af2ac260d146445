#!/bin/bash
# The clean-room job of ci-triage (run as root, cwd = a fresh clone of the candidate's committed HEAD; this
# directory is /opt/opslab-hidden, root's and read-only, with the pristine original package, tests and runner of the
# exercise brought under original/).
#
# 1. The committed package and tests are set apart first: only their regular *.py files (no bytecode, links,
#    extensions, .pth or other files), root's and read-only, under /opt/opslab-verify.
# 2. The committed pipeline runs as the unprivileged `ci` user from /builds, with the platform's own runner
#    (original/ci/run; the repository's ci/run is not used), as on the runner hosts. Then every process of `ci` is
#    killed.
# 3. As root: the deploy receipt and the published artifact.
# 4. As `ci`, with `env -i` and `python3 -I` (verify.py), in trees where nothing of the candidate's but those
#    copied *.py files exists: the original tests plus the grader's own (tests/) against the candidate's package in
#    four zones; the candidate's tests against the original package (they must still catch the bug) and against a
#    reference fix and the candidate's package (the original tests in them must pass). These runs import the
#    candidate's code, so what they print is only ever held against it: each run's line carries a nonce it read
#    before importing anything, and no check passes on such a line alone.
# 5. The verdicts (judge.py, as root, never importing the candidate's code): the package's answers to this run's
#    random and edge-case inputs, evaluated as `ci` by harness.py and compared with the grader's own oracle in each
#    zone; the committed tests compared (ast) with the original ones.
# Every result line starts with "::cleanroom::"; the checks read only what follows the last "results" line, which
# is printed after the last of the candidate's processes is gone.
set -u
H=/opt/opslab-hidden
V=/opt/opslab-verify
SRC=$PWD
say() { printf '::cleanroom:: %s\n' "$*"; }
asci() { setpriv --reuid=ci --regid=ci --init-groups env -i HOME=/home/ci USER=ci LOGNAME=ci PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"; }
reap() { pkill -KILL -u ci 2>/dev/null; sleep 0.3; pkill -KILL -u ci 2>/dev/null; return 0; }
copy_py() { # src dest: the regular *.py files under src
  [ -d "$1" ] && [ ! -L "$1" ] || return 0
  (cd "$1" && find . -type f -name '*.py' -print0) | while IFS= read -r -d '' f; do install -D -m 0644 -o root -g root "$1/$f" "$2/$f"; done
}

rm -rf "$V" && mkdir -p "$V"
copy_py "$SRC/statuspage" "$V/mine/statuspage"
copy_py "$SRC/tests" "$V/mine/tests"
copy_py "$V/mine/statuspage" "$V/harness/statuspage"
copy_py "$H/original/tests" "$V/hidden/tests"
copy_py "$H/tests" "$V/hidden/tests"
copy_py "$V/mine/statuspage" "$V/hidden/statuspage"
copy_py "$V/mine/tests" "$V/original-code/tests"
copy_py "$H/original/statuspage" "$V/original-code/statuspage"
copy_py "$V/mine/tests" "$V/reference/tests"
copy_py "$H/original/statuspage" "$V/reference/statuspage"
sed -i -e 's/^from datetime import datetime$/from datetime import datetime, timezone/' \
  -e 's/datetime.fromtimestamp(ts).date()/datetime.fromtimestamp(ts, tz=timezone.utc).date()/' "$V/reference/statuspage/report.py"
chmod -R a+rX,go-w "$V"

rm -rf /builds/statuspage && cp -a "$SRC" /builds/statuspage && install -D -m 0755 "$H/original/ci/run" /builds/statuspage/ci/run \
  && chown -R ci:ci /builds/statuspage || exit 97
(cd /builds/statuspage && asci CI_PIPELINE_ID=cleanroom timeout -k 5 150 ./ci/run </dev/null); rc=$?
reap

verify=$(deploy-release --verify --env staging 2>&1 | tail -1)
digest=$(python3 -I -c 'import json; print(json.load(open("/srv/deploy/staging/current/.receipt.json"))["sha256"])' 2>/dev/null)
artifact=missing
for f in /srv/registry/ci/statuspage/*.tar.gz; do
  [ -f "$f" ] && [ -n "$digest" ] && [ "$(sha256sum < "$f" | cut -c1-64)" = "$digest" ] && artifact=ok
done

# Each run's output goes to a root-only file (a process of another run cannot reopen it through /proc); the runs go
# in parallel, and every process of `ci` is killed once they are done.
R=$(mktemp -d /root/opslab-verify.XXXXXX) && chmod 0700 "$R" || exit 97
runs=()
nonces=()
run_tree() { # tree zone
  local f="$R/${#runs[@]}" nonce
  nonce=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  runs+=("$1 $2")
  nonces+=("$nonce")
  (cd / && printf '%s\n' "$nonce" | exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent TZ="$2" \
    setpriv --reuid=ci --regid=ci --clear-groups timeout -k 5 60 python3 -I -B "$H/verify.py" "$V/$1") >"$f" 2>/dev/null &
}
zones=(UTC Pacific/Kiritimati America/Adak "${OPSLAB_VAR_TZ:-Asia/Tokyo}")
for zone in "${zones[@]}"; do run_tree hidden "$zone"; done
for zone in Pacific/Kiritimati America/Adak; do
  run_tree original-code "$zone"; run_tree reference "$zone"; run_tree mine "$zone"
done
wait
reap
lines=()
for i in "${!runs[@]}"; do
  out=$(grep -F "::verify:: ${nonces[$i]} " "$R/$i" | tail -1)
  lines+=("verify ${runs[$i]} ${out#"::verify:: ${nonces[$i]} "}")
done
(cd / && timeout -k 5 120 python3 -I -B "$H/judge.py" "$V" "$H" "${zones[@]}") </dev/null >"$R/judge" 2>"$R/judge.err"
reap
while IFS= read -r l; do lines+=("judge $l"); done < <(grep -E '^(tz|tests) ' "$R/judge")
[ -s "$R/judge.err" ] && tail -c 2000 "$R/judge.err" | sed 's/^/judge-error: /'
rm -rf "$R"

say "results"
say "pipeline-exit=$rc"
say "deploy ${verify:-none}"
say "artifact=$artifact"
for l in "${lines[@]}"; do say "$l"; done
exit $rc
