// Item 8: a hostile candidate against the grader.
//
// Already proven elsewhere (not repeated here): test/integration/grading.test.ts "is not fooled by a hostile
// candidate" covers links to the grader's own files (absolute, relative, through `s -> .` chains), link loops, a
// FIFO, a 20 MiB file, a fake git and curl in /usr/local/bin, the candidate's git configuration (fsmonitor,
// hooks, pager, filters...), and checks that hang (also with a detached child holding their output): they end in
// `error` within their timeout. Its probe test shows grader processes cannot be opened through /proc.
//
// Added here: links into /proc and /dev, a sparse file of 64 GiB (free for the candidate, endless for a reader),
// candidate binaries named like the grader's tools inside the copy, and probe mode against a candidate who kills
// every process it can see, or its whole sandbox, while the checks run.
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { gradeSandbox, type GradingRun } from '../../server/src/grading/runner.js';
import { snapshotSandbox } from '../../server/src/grading/snapshot.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { docker, requireDocker, testLabels, TEST_LABEL, TEST_RUN } from '../helpers/docker.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { adhocExercise } from '../helpers/adhoc-exercise.js';
import type { Exercise } from '../../server/src/exercises/catalog.js';

const ITEM = '8 grader attacks';
// Probe mode needs the sandbox's network stack in the host kernel, which a gVisor sandbox does not have (its
// loopback lives in its own kernel), and the engine lists gVisor processes wrongly: probe exercises need runc.
const PROBE_SKIP = SANDBOX_RUNTIME !== 'runc' ? ` (skipped: probe mode needs runc sandboxes, not ${SANDBOX_RUNTIME})` : '';
const policy = loadConfig({
  ...(process.env.OPSLAB_SANDBOX_RUNTIME ? { OPSLAB_SANDBOX_RUNTIME: process.env.OPSLAB_SANDBOX_RUNTIME } : {}),
}).sandbox;
const MINE = { 'opslab.test.file': `grader-attacks-${process.pid}-${Date.now().toString(36)}` };
const labels = () => ({ ...testLabels(), ...MINE });

async function jobContainers(): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${TEST_LABEL}=${TEST_RUN}`, `opslab.test.file=${MINE['opslab.test.file']}`, LABELS.role] },
  });
  return list.filter((c) => c.Labels[LABELS.role] !== 'sandbox').map((c) => c.Id);
}

/** The sum of the checks' own timeouts plus the kill grace: a grading that takes longer hung somewhere. */
const timeoutBudgetMs = (exercise: Exercise) =>
  exercise.checks.reduce((sum, c) => sum + (c.timeoutSeconds + 5) * 1000, 0) + 30_000;

describe('grader attacks (real engine, real grader)', () => {
  let driver: DockerDriver;
  const sandboxes: string[] = [];
  const exercises: { remove(): void }[] = [];

  const sh = async (id: string, script: string) => {
    const r = await driver.exec(id, ['bash', '-c', script], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new Error(`sandbox script failed (${r.exitCode}): ${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  async function sandbox(): Promise<string> {
    const id = await driver.create({
      attemptId: `ga-${Math.random().toString(36).slice(2, 10)}`,
      exerciseId: 'grader-attacks',
      image: 'opslab/sandbox-base:latest',
      limits: { memoryMb: policy.memoryMb, cpus: policy.cpus, pids: policy.pids },
    });
    sandboxes.push(id);
    await driver.start(id);
    return id;
  }

  const grade = (exercise: Exercise, sandboxId: string): Promise<GradingRun> =>
    gradeSandbox({ driver, sandboxId, exercise, params: {}, seed: 'seed', labels: labels() });

  const byId = (run: GradingRun) => Object.fromEntries(run.results.map((r) => [r.id, r]));

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance: `ga${process.pid}`, policy, extraLabels: labels() });
  });

  afterAll(async () => {
    await Promise.all(sandboxes.map((id) => driver?.remove(id)));
    for (const e of exercises) e.remove();
  });

  it('follows no link into /proc or /dev, runs no candidate binary, and reads a 64 GiB sparse file only so far', async () => {
    const exercise = adhocExercise({
      id: 'links-and-sparse',
      collect: ['/root/work', '/root/big'],
      hidden: { secret: 'TOPSECRET-grader-file\n' },
      checks: {
        'reads-links': {
          script: String.raw`#!/bin/bash
for f in environ proc-root proc-secret rel-proc zero urandom stdin; do
  printf '%s: ' "$f"; timeout 5 head -c 64 "$WORKSPACE/$f" 2>&1 | od -An -c | tr -s ' \n' '  '; echo
done
echo "--- links"; cat "$SANDBOX/.opslab-links"
exit 0
`,
        },
        walks: {
          script: String.raw`#!/bin/bash
# Follows every link the copy kept (loops included); must end.
n=$(timeout 10 find -L "$SANDBOX" -type f 2>/dev/null | wc -l); rc=$?
echo "files=$n"
exit 0
`,
        },
        tools: {
          script: String.raw`#!/bin/bash
cd "$WORKSPACE"
git --version; curl --version | head -n 1; python3 --version
echo "git=$(command -v git) curl=$(command -v curl)"
echo "PATH=$PATH"
exit 0
`,
        },
        sparse: {
          script: String.raw`#!/bin/bash
echo "size=$(stat -c %s "$SANDBOX/root/big/mm-sparse")"
echo "after=$([ -e "$SANDBOX/root/big/zz-after" ] && echo present || echo absent)"
echo "before=$(cat "$SANDBOX/root/big/aa-before")"
echo "--- truncated"; cat "$SANDBOX/.opslab-truncated"
exit 0
`,
        },
      },
    });
    exercises.push(exercise);
    const id = await sandbox();
    await sh(
      id,
      String.raw`set -e
      mkdir -p /root/work /root/big /exercise/hidden && cd /root/work
      echo SANDBOX-DECOY > /exercise/hidden/secret
      ln -s /proc/self/environ environ
      ln -s /proc/1/root proc-root
      ln -s /proc/self/root/exercise/hidden/secret proc-secret
      ln -s ../../proc/self/cwd/../exercise rel-proc
      ln -s /dev/zero zero
      ln -s /dev/urandom urandom
      ln -s /proc/self/fd/0 stdin
      mkdir d && ln -s .. d/up && ln -s . self
      for t in git curl python3; do printf '#!/bin/sh\necho FAKE-TOOL\n' > $t; chmod +x $t; done
      cp git /usr/local/bin/git
      cd /root/big
      echo before > aa-before
      truncate -s 64G mm-sparse
      echo after > zz-after`,
    );

    const started = Date.now();
    const run = await grade(exercise, id);
    const gradingMs = Date.now() - started;
    const by = byId(run);
    const all = JSON.stringify(run);

    // Links that leave the copy are empty files, whatever they pointed at: no grader environment, no grader
    // file, no endless device.
    expect(all).not.toContain('TOPSECRET');
    expect(all).not.toContain('SANDBOX-DECOY');
    expect(all).not.toContain('GIT_CONFIG');
    expect(by['reads-links']!.verdict).toBe('pass');
    for (const name of ['environ', 'proc-root', 'proc-secret', 'rel-proc', 'zero', 'urandom', 'stdin']) {
      expect(by['reads-links']!.message).toMatch(new RegExp(`^${name}: *$`, 'm'));
      expect(by['reads-links']!.message).toContain(`/root/work/${name} -> `);
    }
    // Loops inside the copy are kept and end (find reports them).
    expect(by['walks']!.verdict).toBe('pass');
    expect(by['walks']!.message).toMatch(/^files=\d+$/m);
    // The grader's own tools, never the candidate's.
    expect(by['tools']!.verdict).toBe('pass');
    expect(by['tools']!.message).toMatch(/^git version /m);
    expect(by['tools']!.message).toContain('git=/usr/bin/git curl=/usr/bin/curl');
    expect(by['tools']!.message).not.toMatch(/PATH=.*sandbox/);
    expect(all).not.toContain('FAKE-TOOL');
    // The sparse file: cut at 10 MiB, and the copy stopped there instead of reading 64 GiB.
    const sparse = by['sparse']!.message;
    expect(by['sparse']!.verdict).toBe('pass');
    expect(sparse).toContain('size=10485760');
    expect(sparse).toContain('before=before');
    expect(sparse).toContain('after=absent');
    expect(sparse).toContain(`/root/big/mm-sparse ${64 * 1024 ** 3}`);
    expect(sparse).toMatch(/the copy stopped in \/root\/big\/mm-sparse after \d+ bytes read/);
    expect(run.results.every((r) => r.verdict === 'pass')).toBe(true);

    // The snapshot of what changed reads the same archive: bounded as well.
    const snapStarted = Date.now();
    const snapshot = await snapshotSandbox(driver, id, exercise.collect);
    const snapshotMs = Date.now() - snapStarted;
    expect(snapshot.length).toBeLessThan(200 * 1024 * 1024);
    expect(await jobContainers()).toEqual([]);

    figure(ITEM, 'grading with a 64 GiB sparse file and /proc, /dev links (4 checks)', gradingMs, 'ms');
    figure(ITEM, 'copy phase of that grading', run.phases.copyMs, 'ms');
    figure(ITEM, 'final snapshot of a 64 GiB sparse file', snapshotMs, 'ms');
  }, 120_000);

  /** A probe exercise: a service on the sandbox's loopback, and checks that look at it. */
  function probeExercise(id: string, first: string) {
    const exercise = adhocExercise({
      id,
      probe: true,
      checks: {
        // Runs first and long enough for the candidate's processes to act while a check runs.
        [first]: {
          timeoutSeconds: 20,
          script: String.raw`#!/bin/bash
curl -s --max-time 2 -o /dev/null http://127.0.0.1:8099/trigger
sleep 4
ps -eo args >&2
if ps -eo args | grep -q '[h]ttp.server'; then echo "the grader sees the sandbox's processes"; exit 1; fi
exit 0
`,
        },
        'service-answers': {
          timeoutSeconds: 15,
          script: String.raw`#!/bin/bash
for i in 1 2 3 4 5; do
  body=$(curl -s --max-time 1 http://127.0.0.1:8099/index.html) && break
  sleep 0.3
done
[ "$body" = "service-ok" ] || { echo "the service does not answer on 127.0.0.1:8099"; exit 1; }
`,
        },
        'service-listed': {
          timeoutSeconds: 10,
          script: String.raw`#!/bin/bash
cat /probe/processes >&2
cut -f5 /probe/processes | grep -q '[h]ttp.server 8099' || { echo "the service is not running"; exit 1; }
`,
        },
      },
    });
    exercises.push(exercise);
    return exercise;
  }

  const startService = (id: string) =>
    sh(
      id,
      `mkdir -p /srv/www /root/work && echo service-ok > /srv/www/index.html && cd /srv/www && (nohup python3 -m http.server 8099 --bind 127.0.0.1 >/var/log/www.log 2>&1 &) && for i in $(seq 50); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8099/index.html')" 2>/dev/null && exit 0; sleep 0.1; done; exit 1`,
    );

  /** A file of the sandbox read through the archive API (no process in the sandbox, which the killer would end). */
  async function readFile(id: string, file: string): Promise<string> {
    const extract = tarStream.extract();
    (await driver.copyOut(id, file)).pipe(extract);
    let text = '';
    for await (const entry of extract) for await (const c of entry as AsyncIterable<Buffer>) text += c.toString('utf8');
    return text;
  }

  it.skipIf(PROBE_SKIP !== '')(`probe: a candidate killing every process it can see kills only its own service; verdicts stay right${PROBE_SKIP}`, async () => {
    const exercise = probeExercise('probe-killer', 'grader-alive');
    const id = await sandbox();
    await startService(id);
    // The candidate's root kills everything it can see, over and over, except init, its own shell and itself,
    // and notes any process that looks like the grader's.
    await sh(
      id,
      String.raw`cat > /tmp/killer <<'EOF'
#!/bin/bash
shell=$(awk '{print $1}' /proc/1/task/1/children)
end=$((SECONDS+60))
while [ $SECONDS -lt $end ]; do
  for p in /proc/[0-9]*; do
    pid=%{p#/proc/}
    if [ "$pid" = 1 ] || [ "$pid" = "$$" ] || [ "$pid" = "$shell" ]; then continue; fi
    args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)
    uid=$(awk '/^Uid:/{print $2}' "$p/status" 2>/dev/null)
    case "$args" in *exercise/checks*|*opslab-check*) echo "saw grader: $args";; esac
    [ "$uid" = 10001 ] && echo "saw grader uid: $args"
    kill -9 "$pid" 2>/dev/null && echo "killed $pid $args"
  done
  sleep 0.05
done
EOF
chmod +x /tmp/killer; (nohup /tmp/killer > /tmp/killer.log 2>&1 &)`.replaceAll('%{', '${'),
    );
    // The service is the first to go.
    for (let i = 0; i < 50 && !(await readFile(id, '/tmp/killer.log')).includes('http.server'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }

    const started = Date.now();
    const run = await grade(exercise, id);
    const gradingMs = Date.now() - started;
    const log = await readFile(id, '/tmp/killer.log');
    const by = byId(run);

    expect(log).toContain('http.server');
    expect(log).not.toContain('saw grader');
    // The grader's own check ran to its end; the service checks fail (the candidate broke the service), and
    // none ends in error.
    expect(by['grader-alive']).toMatchObject({ verdict: 'pass' });
    expect(by['service-answers']).toMatchObject({ verdict: 'fail', message: 'the service does not answer on 127.0.0.1:8099' });
    expect(by['service-listed']).toMatchObject({ verdict: 'fail', message: 'the service is not running' });
    expect(by['service-listed']!.details).toContain('/tmp/killer');
    expect(run.maxScore).toBe(3);
    expect(gradingMs).toBeLessThan(timeoutBudgetMs(exercise));
    expect(await jobContainers()).toEqual([]);

    figure(ITEM, 'probe grading while the candidate kills every visible process', gradingMs, 'ms');
    figure(ITEM, 'grader processes the candidate saw', (log.match(/saw grader/g) ?? []).length);
    figure(ITEM, 'processes the candidate killed during it', (log.match(/^killed /gm) ?? []).length);
  }, 120_000);

  it.skipIf(PROBE_SKIP !== '')(`probe: the sandbox killed from inside in the middle of a check ends in fail, not a hang${PROBE_SKIP}`, async () => {
    const exercise = probeExercise('probe-suicide', 'slow');
    const id = await sandbox();
    await startService(id);
    // When the first check's request reaches the service, the candidate ends every process of the sandbox
    // (kill -1 as root): the shell dies, init follows, the container stops.
    await sh(
      id,
      String.raw`(nohup bash -c 'for i in $(seq 600); do grep -q "GET /trigger" /var/log/www.log && break; sleep 0.05; done; kill -9 -1' >/dev/null 2>&1 &)`,
    );
    const started = Date.now();
    const run = await grade(exercise, id);
    const gradingMs = Date.now() - started;
    const by = byId(run);
    expect((await driver.inspect(id))?.runState).toBe('exited');
    expect(by['slow']).toMatchObject({ verdict: 'pass' });
    expect(by['service-answers']).toMatchObject({ verdict: 'fail' });
    expect(by['service-listed']).toMatchObject({ verdict: 'fail', details: '' });
    expect(gradingMs).toBeLessThan(timeoutBudgetMs(exercise));
    expect(await jobContainers()).toEqual([]);
    figure(ITEM, 'probe grading when the sandbox dies mid-check', gradingMs, 'ms');
  }, 120_000);
});
