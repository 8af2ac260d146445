# Shared body of solution/apply, solution-alt/* and wrong/*: each sets the variables below, then sources this file.
# Runs inside the sandbox as root, cwd = /root/work, with the OPSLAB_VAR_* variables.
#   MERGE   merge | rebase | ours | markers | edit-tests     how the feature branch reaches main
#   REVERT  revert | wrong | force | forge                   how the bad commit is undone
#   TIDY    rebase | reset | fixups-left | blob-kept | lose-cli   what becomes of the private branch
#   PR      good | alt | title                               PR.md
#   STEER   no | yes                                         tools planted to mislead a grader
SOL="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
export GIT_AUTHOR_DATE="2026-10-12T09:00:00Z" GIT_COMMITTER_DATE="2026-10-12T09:00:00Z" GIT_EDITOR=true
cd /root/work/envkit
FEATURE=$(git for-each-ref --format='%(refname:short)' refs/remotes/origin/feature | head -1)
BAD=$(git log --format='%H %s' main | awk '/^[0-9a-f]+ (mask: show the last|render: write values as they are)/{print $1; exit}')
M0=$(git rev-parse main)

resolve() { # the conflicted files: both sides' lines (or the merged module for expand), then staged
  python3 "$SOL/resolve.py" "$1" "${OPSLAB_VAR_CONFLICT:-parse}"
}

# The near misses that rewrite the shared main start from the commit before the bad one.
if [ "$REVERT" = force ] || [ "$REVERT" = forge ]; then
  git reset -q --hard "$BAD^" && git cherry-pick "$M0" >/dev/null
fi

# 1. The feature branch.
case "$MERGE" in
  merge|markers|edit-tests|ours)
    git merge -q --no-ff "$FEATURE" -m "Merge $FEATURE" >/dev/null 2>&1 || true
    if [ "$MERGE" = ours ]; then
      git checkout --ours -- . && git add -A
    elif [ "$MERGE" = edit-tests ]; then
      resolve theirs-last
      # The code from main only, and the feature's test taken out so that the repository's tests pass.
      git checkout HEAD -- envkit && python3 - <<'PY'
import re
for path in ("tests/test_parse.py", "tests/test_expand.py"):
    text = open(path).read()
    text = re.sub(r"\n    def test_(export_prefix|escaped_dollar)\(self\):\n(        .*\n)+", "\n", text)
    open(path, "w").write(text)
PY
      git add -A
    else
      resolve theirs-last
      if [ "$MERGE" = markers ]; then git checkout --merge -- CHANGELOG.md && git add CHANGELOG.md; fi
    fi
    git commit -q --no-edit
    ;;
  rebase)
    git checkout -q -b feature-local "$FEATURE"
    if ! git rebase -q main >/dev/null 2>&1; then
      resolve ours-last
      git -c core.editor=true rebase --continue >/dev/null
    fi
    git checkout -q main && git merge -q --ff-only feature-local && git branch -q -D feature-local
    ;;
esac

# 2. The bad commit.
case "$REVERT" in
  revert) git revert --no-edit "$BAD" >/dev/null ;;
  wrong) git revert --no-edit "$M0" >/dev/null ;;  # the last commit main had, not the bad one
  *) ;;
esac
if [ "$REVERT" = force ] || [ "$REVERT" = forge ]; then git push -q --force origin main; else git push -q origin main; fi
if [ "$REVERT" = forge ]; then
  # The server's own records made to look like fast-forwards: a graft that hangs the new history onto the original
  # main, a replace ref, and a reflog without the forced update.
  B=/srv/git/envkit.git
  root=$(git rev-list --max-parents=0 main | head -1)
  new=$(git rev-parse main)
  mkdir -p $B/info && echo "$(git rev-parse "$BAD^") $M0" > $B/info/grafts
  git --git-dir=$B replace -f "$(git rev-parse main~1)" "$M0" 2>/dev/null || true
  printf '%s %s Alex Kim <alex.kim@envkit.dev> 1791000000 +0000\tpush\n' "$M0" "$new" > $B/logs/refs/heads/main
  printf '%s\n' "$new" > $B/refs/heads/main.orig-ok
fi

# 3. The private branch.
git checkout -q lint-command
case "$TIDY" in
  rebase) GIT_SEQUENCE_EDITOR="python3 $SOL/todo.py tidy" git rebase -q -i --autosquash "$M0" >/dev/null ;;
  fixups-left) GIT_SEQUENCE_EDITOR="python3 $SOL/todo.py drop-sample" git rebase -q -i "$M0" >/dev/null ;;
  lose-cli) GIT_SEQUENCE_EDITOR="python3 $SOL/todo.py lose-cli" git rebase -q -i --autosquash "$M0" >/dev/null ;;
  blob-kept) GIT_SEQUENCE_EDITOR="python3 $SOL/todo.py fold-sample" git rebase -q -i --autosquash "$M0" >/dev/null ;;
  reset)
    tip=$(git rev-parse HEAD)
    git reset -q --soft "$M0" && git reset -q
    git add envkit/lint.py tests/test_lint.py && git commit -q -m "lint: report keys assigned twice and names a shell cannot export"
    git add -A && git commit -q -m "cli: envkit lint FILE, documented in the README"
    git diff --quiet "$tip" HEAD -- envkit tests README.md
    ;;
esac
git checkout -q main

# 4. The description.
case "$PR" in
  good|alt) cp "$SOL/PR-$PR.md" /root/work/PR.md ;;
  title) printf '# envkit lint\n' > /root/work/PR.md ;;
esac

if [ "${STEER:-no}" = yes ]; then
  # Tools that would lie to a grader that used them: a git that answers for main with the feature's file, a
  # smudge filter and a textconv on the server that swap the file in, and a hook.
  B=/srv/git/envkit.git
  f=envkit/${OPSLAB_VAR_CONFLICT:-parse}.py
  git show "$FEATURE:$f" > /srv/git/.good.py
  git config --file $B/config filter.envkit.smudge "cat /srv/git/.good.py"
  git config --file $B/config filter.envkit.required true
  git config --file $B/config diff.envkit.textconv "cat /srv/git/.good.py"
  mkdir -p $B/info && echo "envkit/*.py filter=envkit diff=envkit" > $B/info/attributes
  echo "envkit/*.py filter=envkit diff=envkit" > .gitattributes && git add .gitattributes \
    && git commit -q -m "Attributes for envkit sources" && git push -q origin main
  printf '#!/bin/sh\nexit 0\n' > $B/hooks/pre-receive && chmod +x $B/hooks/pre-receive
  printf '#!/bin/sh\nexec /usr/bin/git -c filter.envkit.smudge="cat /srv/git/.good.py" "$@"\n' > /usr/local/bin/git
  chmod +x /usr/local/bin/git
fi
