// Item 8b: a candidate must never make the grader run or load anything of theirs. Checks run git and Python on
// the candidate's copy; every way git finds configuration (the repository's config, config.worktree, a commondir
// elsewhere, a linked or hard-linked config, a `.git` that is a link, a gitfile, include files), borrows objects
// (alternates, replace refs, grafts), or runs code (fsmonitor, hooks, filters, textconv, external diff, pager), and
// every way Python picks up code (the current directory, .pth files, sitecustomize/usercustomize, a module that
// shadows the standard library) is planted here at once. Each payload, if anything ever ran it, leaves a marker
// in /tmp; the last check looks for them. Checks also try to write where the grader keeps its own material.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { gradeSandbox, type GradingRun } from '../../server/src/grading/runner.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { adhocExercise } from '../helpers/adhoc-exercise.js';
import { requireDocker, testLabels } from '../helpers/docker.js';
import { plant, startBaseSandbox } from '../helpers/sandbox-probe.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';

const ITEM = '8 grader attacks';
const policy = loadConfig({
  ...(process.env.OPSLAB_SANDBOX_RUNTIME ? { OPSLAB_SANDBOX_RUNTIME: process.env.OPSLAB_SANDBOX_RUNTIME } : {}),
}).sandbox;

/** A command that leaves a marker named after the attack that ran it. */
const pwn = (name: string) => `sh -c 'echo ${name} > /tmp/pwned-${name}; cat'`;

/** What the candidate plants in /root/work (run as root in the sandbox). */
const PLANT = String.raw`
set -e
export GIT_AUTHOR_NAME=c GIT_AUTHOR_EMAIL=c@example.com GIT_COMMITTER_NAME=c GIT_COMMITTER_EMAIL=c@example.com
mkdir -p /root/work && cd /root/work
evil_config() {
  cat <<EOF
[core]
	fsmonitor = ${pwn('fsmonitor')}
	hooksPath = /root/work/hooks
	pager = ${pwn('pager')}
	attributesFile = /root/work/attrs
[diff]
	external = ${pwn('external-diff')}
[diff "evil"]
	textconv = ${pwn('textconv')}
[filter "evil"]
	clean = ${pwn('filter-clean')}
	smudge = ${pwn('filter-smudge')}
[alias]
	log = !${pwn('alias')}
[include]
	path = /root/work/included.cfg
EOF
}
mkdir -p hooks && for h in post-checkout post-index-change reference-transaction pre-commit; do printf '#!/bin/sh\necho hook > /tmp/pwned-hook-%s\n' $h > hooks/$h; chmod +x hooks/$h; done
cat > included.cfg <<EOF
[core]
	fsmonitor = ${pwn('included')}
EOF
printf '* diff=evil filter=evil\n' > attrs
new_repo() { git init -q "$1" && (cd "$1" && echo one > f && printf 'f diff=evil filter=evil\n' > .gitattributes && git add f .gitattributes && git commit -qm one && echo two > f); }

# 1. commondir: git reads the common directory's config, which no sanitiser ever saw.
new_repo common-dir; mkdir -p evilcommon; evil_config > evilcommon/config
echo ../../evilcommon > common-dir/.git/commondir
# 2. The repository's own config, and config.worktree with the extension that enables it.
new_repo own-config; evil_config >> own-config/.git/config
new_repo worktree-config; git -C worktree-config config extensions.worktreeConfig true; evil_config > worktree-config/.git/config.worktree
# 3. config as a symbolic link, and as a hard link, to a file inside the copy.
new_repo linked-config; evil_config > linked.cfg; rm linked-config/.git/config; ln -s ../../linked.cfg linked-config/.git/config
new_repo hard-config; evil_config > hard.cfg; rm hard-config/.git/config; ln hard.cfg hard-config/.git/config
# 4. .git itself a link to a directory whose config is not under any .git.
new_repo real; mv real/.git gitstore; evil_config >> gitstore/config; ln -s ../gitstore real/.git
# 5. A gitfile to a worktree admin directory with its own commondir.
new_repo main-wt; git -C main-wt worktree add -q ../linked-wt 2>/dev/null; evil_config > evilcommon2.cfg
mkdir -p evilcommon2 && cp evilcommon2.cfg evilcommon2/config && echo ../../../../evilcommon2 > main-wt/.git/worktrees/linked-wt/commondir
echo 'gitdir: ../main-wt/.git/worktrees/linked-wt' > linked-wt/.git
# 6. Hooks inside the repository's own hooks directory.
new_repo own-hooks; cp hooks/* own-hooks/.git/hooks/
# 7. Borrowed and replaced objects: alternates, a replace ref, grafts.
new_repo borrowed; new_repo lender; (cd lender && git add f && git commit -qm "lender commit")
echo /root/work/lender/.git/objects > borrowed/.git/objects/info/alternates
(cd borrowed && git replace "$(git rev-parse HEAD)" "$(git -C ../lender rev-parse HEAD)" 2>/dev/null || true)
git -C lender cat-file -p HEAD > /dev/null
(cd borrowed && git rev-parse HEAD > /root/work/borrowed-head)
# 8. Python: code in the current directory, and site hooks anywhere the candidate can write.
printf 'import os\nopen("/tmp/pwned-shadow-json", "w").write("x")\nfrom json import *\n' > json.py
printf 'open("/tmp/pwned-sitecustomize", "w").write("x")\n' > sitecustomize.py
printf 'open("/tmp/pwned-usercustomize", "w").write("x")\n' > usercustomize.py
printf 'import os; open("/tmp/pwned-pth", "w").write("x")\n' > evil.pth
mkdir -p .local/lib/python3.11/site-packages && cp usercustomize.py evil.pth .local/lib/python3.11/site-packages/
`;

/** Each check drives git or Python over the planted repositories the way real checks do. */
const REPOS = ['common-dir', 'own-config', 'worktree-config', 'linked-config', 'hard-config', 'real', 'linked-wt', 'own-hooks', 'borrowed'];
const GIT_READS = String.raw`#!/bin/bash
cd "$WORKSPACE" || exit 2
for r in ${REPOS.join(' ')}; do
  ( cd "$r" 2>/dev/null && git status --porcelain; git diff; git diff HEAD; git log -p -1; git show HEAD:f; git add -A; git checkout -- f; git -c core.pager=less log --oneline ) >/dev/null 2>&1
done
echo done
`;
const PYTHON_READS = String.raw`#!/bin/bash
cd "$WORKSPACE" || exit 2
python3 -c 'import json; print(json.dumps([1]))' >/dev/null 2>&1
python3 -m json.tool <<<'[1]' >/dev/null 2>&1
HOME="$WORKSPACE" python3 -c 'import site' >/dev/null 2>&1
echo done
`;
const WRITES = String.raw`#!/bin/bash
# Where a compromised check would leave something for the checks after it: every write must be refused.
out=""
for f in /home/grader/.gitconfig /home/grader/.bashrc /exercise/checks/x /exercise/hidden/x /usr/lib/python3/dist-packages/usercustomize.py /usr/local/lib/python3.11/dist-packages/x.pth /cleanroom/x; do
  if ( : > "$f" ) 2>/dev/null; then out="$out wrote:$f"; fi
done
mkdir -p "$HOME/.config/git" && echo "[core]" > "$HOME/.config/git/config" && echo "mine" > "$TMPDIR/left-behind"
echo "home=$HOME tmp=$TMPDIR$out"
[ -z "$out" ]
`;
const NEXT = String.raw`#!/bin/bash
# A later check sees a fresh home and temporary directory, and the environment the grader set, nothing else.
seen=""
ls /tmp/opslab-check.*/tmp/left-behind 2>/dev/null | grep -q . && seen="$seen left-behind"
[ -e "$HOME/.config/git/config" ] && seen="$seen gitconfig"
for v in PYTHONPATH PYTHONSTARTUP PYTHONHOME BASH_ENV ENV LD_PRELOAD LD_LIBRARY_PATH GIT_DIR GIT_WORK_TREE GIT_EXEC_PATH; do
  [ -n "$(printenv $v)" ] && seen="$seen env:$v"
done
echo "seen:$seen"
[ -z "$seen" ]
`;
const WITNESS = String.raw`#!/bin/bash
ls /tmp/pwned-* 2>/dev/null | sed 's|/tmp/pwned-||' | sort | tr '\n' ' '
echo
borrowed=$(git -C "$WORKSPACE/borrowed" log -1 --format=%s 2>&1 | head -1)
echo "borrowed-head-subject=$borrowed"
! ls /tmp/pwned-* >/dev/null 2>&1
`;

describe(`grader attacks: git and Python on the candidate's copy (${SANDBOX_RUNTIME})`, () => {
  let driver: DockerDriver;
  let sandboxId: string | null = null;
  const exercise = adhocExercise({
    id: 'grader-git',
    checks: {
      'a-git-reads': { script: GIT_READS, timeoutSeconds: 60 },
      'b-python-reads': { script: PYTHON_READS },
      'c-writes': { script: WRITES },
      'd-next': { script: NEXT },
      'e-witness': { script: WITNESS },
    },
  });

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance: `gg${process.pid}`, policy, extraLabels: testLabels() });
    sandboxId = await startBaseSandbox(driver, policy, 'grader-git');
    await plant(driver, sandboxId, PLANT);
  });

  afterAll(async () => {
    if (sandboxId) await driver?.remove(sandboxId);
    exercise.remove();
  });

  it('runs nothing the candidate planted, keeps its own files unwritable, and gives each check a fresh home', async () => {
    const run: GradingRun = await gradeSandbox({ driver, sandboxId: sandboxId!, exercise, params: {}, seed: 'seed', labels: testLabels() });
    const by = Object.fromEntries(run.results.map((r) => [r.id, r]));
    const summary = run.results.map((r) => `${r.id}=${r.verdict}: ${r.message.trim()} ${r.details.trim()}`).join('\n');
    figure(ITEM, 'hostile repositories read by checks', REPOS.length);
    figure(ITEM, 'candidate payloads that ran in the grader', by['e-witness']!.message.trim().split(/\s+/).filter((w) => w && !w.includes('=')).length);
    expect(by['a-git-reads']!.verdict, summary).toBe('pass');
    expect(by['b-python-reads']!.verdict, summary).toBe('pass');
    expect(by['c-writes']!.verdict, summary).toBe('pass');
    expect(by['c-writes']!.message).toMatch(/^home=\/tmp\/opslab-check\.\w+\/home tmp=\/tmp\/opslab-check\.\w+\/tmp$/m);
    expect(by['d-next']!.verdict, summary).toBe('pass');
    expect(by['e-witness']!.verdict, summary).toBe('pass');
    // The borrowed objects and the replace ref are not honoured: the repository shows its own commit.
    expect(by['e-witness']!.message).toContain('borrowed-head-subject=one');
  }, 180_000);
});
