import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { loadExercise, type Exercise } from '../../server/src/exercises/catalog.js';
import { provisionExercise, runBoot } from '../../server/src/exercises/provision.js';
import { drawVariant, newSeed } from '../../server/src/exercises/variants.js';
import { gradeSandbox, type GradingRun } from '../../server/src/grading/runner.js';
import { selfTest } from '../../server/src/grading/self-test.js';
import { diffSnapshots, snapshotSandbox } from '../../server/src/grading/snapshot.js';
import { toJUnitXml } from '../../server/src/grading/report.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { effectiveLimits } from '../../server/src/sandbox/policy.js';
import { adhocExercise } from '../helpers/adhoc-exercise.js';
import { docker, requireDocker, testLabels, TEST_LABEL, TEST_RUN } from '../helpers/docker.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'exercises');
const policy = loadConfig({}).sandbox;

function fixture(id: string): Exercise {
  const result = loadExercise(path.join(FIXTURES, id), {});
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result.exercise;
}

const sh = async (driver: DockerDriver, id: string, script: string) => {
  const r = await driver.exec(id, ['bash', '-c', script], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`sandbox script failed (${r.exitCode}): ${r.stdout}${r.stderr}`);
  return r.stdout;
};

/** This file's own mark (other test files of the run may be grading at the same time). */
const MINE = { 'opslab.test.file': `grading-${process.pid}-${Date.now().toString(36)}` };
const labels = () => ({ ...testLabels(), ...MINE });

async function jobContainers(): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${TEST_LABEL}=${TEST_RUN}`, `opslab.test.file=${MINE['opslab.test.file']}`, LABELS.role] },
  });
  return list.filter((c) => c.Labels[LABELS.role] !== 'sandbox').map((c) => c.Id);
}

describe('grading on the real engine', () => {
  let driver: DockerDriver;
  const sandboxes: string[] = [];

  async function sandboxFor(exercise: Exercise, seed = newSeed()) {
    const id = await driver.create({
      attemptId: `gt-${Math.random().toString(36).slice(2, 10)}`,
      exerciseId: exercise.id,
      image: `opslab/sandbox-${exercise.image}:latest`,
      limits: effectiveLimits(policy, exercise.limits),
    });
    sandboxes.push(id);
    await driver.start(id);
    const params = drawVariant(exercise.variants, seed);
    const timing = await provisionExercise(driver, id, exercise, { params, seed });
    return { id, seed, params, timing };
  }

  const grade = (exercise: Exercise, s: { id: string; seed: string; params: Record<string, string> }) =>
    gradeSandbox({ driver, sandboxId: s.id, exercise, params: s.params, seed: s.seed, labels: labels() });

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance: `gt${process.pid}`, policy, extraLabels: labels() });
  });

  afterAll(async () => {
    await Promise.all(sandboxes.map((id) => driver?.remove(id)));
  });

  it('passes the self-test of the fixture exercise (2 seeds, every state graded twice)', async () => {
    const exercise = fixture('fixture-basic');
    const report = await selfTest(exercise, { driver, policy, seeds: 2, parallel: 2, labels: labels() });
    expect(report.problems).toEqual([]);
    expect(report.runs.map((r) => r.state).sort()).toEqual(
      ['solution/apply', 'solution/apply', 'untouched', 'untouched', 'wrong/only-color', 'wrong/only-color'],
    );
    const gradings = report.runs.flatMap((r) => r.gradings);
    const avg = (f: (g: GradingRun) => number) => Math.round(gradings.reduce((s, g) => s + f(g), 0) / gradings.length);
    const perCheck = Math.round(
      gradings.reduce((s, g) => s + g.results.reduce((t, r) => t + r.durationMs, 0) / g.results.length, 0) / gradings.length,
    );
    console.log(
      `[figure] grading fixture-basic (3 checks): full ${avg((g) => g.durationMs)} ms avg; grader start ${avg((g) => g.phases.graderStartMs)} ms, copy ${avg((g) => g.phases.copyMs)} ms, checks ${avg((g) => g.phases.checksMs)} ms, ${perCheck} ms per check; self-test ${report.durationMs} ms`,
    );
    expect(await jobContainers()).toEqual([]);
  }, 180_000);

  it('is not fooled by a hostile candidate: links out, a FIFO, a 20 MiB file, link loops, replaced tools, git config', async () => {
    const exercise = fixture('fixture-attacks');
    const s = await sandboxFor(exercise);
    await sh(
      driver,
      s.id,
      String.raw`
      set -e
      cd /root/work
      git init -q repo && cd repo && echo one > f && git add f && git -c user.name=c -c user.email=c@example.com commit -qm "candidate commit"
      git config core.fsmonitor 'echo fsmonitor > /tmp/pwned; false'
      git config core.hooksPath /root/work/repo/.hooks
      git config core.pager 'sh -c "echo pager > /tmp/pwned"'
      git config core.worktree /exercise
      git config diff.evil.textconv 'sh -c "echo textconv > /tmp/pwned; cat \$1" --'
      git config filter.evil.clean 'sh -c "echo filter > /tmp/pwned; cat"'
      git config include.path /exercise/hidden/secret
      printf 'f diff=evil filter=evil\n' > .gitattributes
      echo two > f
      cd /root/work
      ln -s /exercise/hidden/secret answer
      ln -s ../../exercise/hidden/secret rel-answer
      mkdir -p deep && ln -s ../../../../../../exercise/hidden/secret deep/rel-escape
      ln -s . s && ln -s s/s/s/s/s/s/../../../../../../exercise/hidden/secret sneaky
      ln -s loop-b loop-a && ln -s loop-a loop-b
      ln -s hello.txt inside-link
      mkfifo fifo
      head -c 20971520 /dev/zero > big
      mkdir -p /exercise/hidden && echo SANDBOX-DECOY > /exercise/hidden/secret
      printf '#!/bin/sh\necho FAKE-TOOL\n' > /usr/local/bin/git && chmod +x /usr/local/bin/git
      cp /usr/local/bin/git /usr/local/bin/curl
      `,
    );
    const started = Date.now();
    const run = await grade(exercise, s);
    const elapsed = Date.now() - started;
    const by = Object.fromEntries(run.results.map((r) => [r.id, r]));
    const all = JSON.stringify(run);
    console.log(`[figure] grading fixture-attacks (8 checks, two of them hanging): ${run.durationMs} ms`);

    // Nothing of the grader's own files ever reaches a check through the candidate's links.
    expect(all).not.toContain('TOPSECRET');
    expect(by['reads-answer']!.verdict).toBe('pass');
    const answer = by['reads-answer']!.message;
    expect(answer).toMatch(/^answer: $/m);
    expect(answer).toMatch(/^rel-answer: $/m);
    expect(answer).toMatch(/^deep\/rel-escape: $/m);
    expect(answer).toMatch(/^sneaky: .*No such file/m);
    expect(answer).toMatch(/^loop-a: .*Too many levels of symbolic links/m);
    expect(answer).toMatch(/^inside-link: hello $/m);
    expect(answer).toContain('/root/work/answer -> /exercise/hidden/secret');
    expect(answer).toContain('/root/work/rel-answer -> ../../exercise/hidden/secret');
    expect(answer).toContain('/root/work/deep/rel-escape -> ../../../../../../exercise/hidden/secret');

    expect(by['walks']!.verdict).toBe('pass');
    expect(by['walks']!.message).toContain('big=10485760');
    expect(by['walks']!.message).toContain('fifo=absent');
    expect(by['walks']!.message).toContain('truncated=/root/work/big 20971520');

    // Checks use the grader's tools, and the candidate's git configuration runs nothing.
    expect(by['tools']!.verdict).toBe('pass');
    expect(by['tools']!.message).toMatch(/^git version /m);
    expect(by['tools']!.message).toMatch(/^curl \d/m);
    expect(by['tools']!.message).toContain('log=candidate commit');
    expect(by['tools']!.message).toContain('clone=candidate commit');
    expect(all).not.toContain('FAKE-TOOL');

    // Verdicts by exit code; hanging checks end in error, in bounded time.
    expect(by['env-vars']!.verdict).toBe('pass');
    expect(by['env-vars']!.message).toBe(
      `color=${s.params.color} seed=${s.seed} sandbox=/sandbox workspace=/sandbox/root/work exercise=/exercise check=env-vars uid=10001 cwd=/sandbox`,
    );
    expect(by['env-vars']!.details).toBe('checks\nhidden');
    expect(by['fails']).toMatchObject({ verdict: 'fail', message: 'not yet <done> & "quoted"', details: 'evidence: line 3' });
    expect(by['crashes']!.verdict).toBe('error');
    expect(by['crashes']!.message).toBe('about to crash');
    expect(by['hangs']!.verdict).toBe('error');
    expect(by['hangs']!.details).toContain('timed out after 2 s');
    expect(by['hangs-detached']!.verdict).toBe('error');
    expect(by['hangs-detached']!.durationMs).toBeLessThan(9_000);
    expect(elapsed).toBeLessThan(40_000);
    // Errors are left out of the maximum: 1 + 2 + 32 + 64 + 128.
    expect(run.maxScore).toBe(227);
    expect(run.score).toBe(225);

    const xml = toJUnitXml(run, { suiteName: 'fixture-attacks' });
    expect(xml).toContain('<failure message="not yet &lt;done&gt; &amp; &quot;quoted&quot;"');
    expect((xml.match(/<error /g) ?? []).length).toBe(3);
    expect(await jobContainers()).toEqual([]);
  }, 120_000);

  it('probes the running sandbox, runs clean-room jobs on the committed HEAD, and restarts services with boot', async () => {
    const exercise = fixture('fixture-services');
    const s = await sandboxFor(exercise);
    // Uncommitted work must not reach the clean room; a fake git in the sandbox changes nothing.
    await sh(
      driver,
      s.id,
      `cd /root/work/svc && echo x > uncommitted.txt && printf '#!/bin/sh\\nexit 0\\n' > /usr/local/bin/git && chmod +x /usr/local/bin/git`,
    );
    // The candidate is root in the process namespace the grader joins: it watches /proc for grader processes and
    // tries their root directories, as root and as the grader's uid. None of them may open.
    await sh(
      driver,
      s.id,
      `nohup bash -c 'end=$((SECONDS+40)); while [ $SECONDS -lt $end ]; do for p in /proc/[0-9]*; do cat $p/root/exercise/hidden/secret $p/cwd/../exercise/hidden/secret; setpriv --reuid 10001 --regid 10001 --clear-groups cat $p/root/exercise/hidden/secret; ls $p/root/exercise >/dev/null && echo "opened $p"; done 2>/dev/null; done' >/tmp/leak.log 2>&1 &`,
    );
    const run = await grade(exercise, s);
    expect(run.results.map((r) => [r.id, r.verdict, r.message])).toEqual([
      ['service-answers', 'pass', ''],
      ['sees-processes', 'pass', ''],
      ['tests-pass', 'pass', ''],
      ['lingers', 'pass', ''],
      ['flood-tail-kept', 'pass', ''],
    ]);
    expect(run.results[1]!.details).toContain('/exercise/checks/sees-processes');
    const leak = await sh(driver, s.id, 'cat /tmp/leak.log');
    expect(leak).not.toContain('TOPSECRET');
    expect(leak).not.toContain('opened');
    expect(run.results[2]!.details).toContain('running the committed tests in /root/work/svc');
    expect(run.cleanroom).toEqual([
      { id: 'tests', exitCode: 0, durationMs: expect.any(Number) },
      { id: 'flood', exitCode: 0, durationMs: expect.any(Number) },
    ]);
    console.log(`[figure] grading fixture-services (probe + 2 clean-room jobs): ${run.durationMs} ms, clean room ${run.phases.cleanroomMs} ms`);

    // A restart loses the service; boot brings it back.
    await driver.stop(s.id, 1);
    await driver.start(s.id);
    const boot = await runBoot(driver, s.id);
    expect(boot?.exitCode).toBe(0);
    const again = await gradeSandbox({
      driver,
      sandboxId: s.id,
      exercise,
      params: s.params,
      seed: s.seed,
      labels: labels(),
      only: ['service-answers'],
    });
    expect(again.results.map((r) => r.verdict)).toEqual(['pass']);
    expect(await jobContainers()).toEqual([]);
  }, 120_000);

  it('diffs snapshots of the collect paths, and grades and snapshots a stopped sandbox', async () => {
    const exercise = fixture('fixture-basic');
    const s = await sandboxFor(exercise);
    const before = await snapshotSandbox(driver, s.id, exercise.collect);
    await sh(
      driver,
      s.id,
      `cd /root/work && sed -i 's/^mode = .*/mode = production/' app.conf && echo new > added.txt && rm ticket.txt && head -c 3000 /dev/urandom > blob.bin && ln -s app.conf link && mkfifo pipe`,
    );
    const after = await snapshotSandbox(driver, s.id, exercise.collect);
    const d = await diffSnapshots(before, after);
    expect(d.changed).toEqual([
      { path: '/root/work/added.txt', change: 'added' },
      { path: '/root/work/app.conf', change: 'modified' },
      { path: '/root/work/blob.bin', change: 'added' },
      { path: '/root/work/link', change: 'added' },
      { path: '/root/work/ticket.txt', change: 'removed' },
    ]);
    expect(d.diff).toContain('-mode = debug\n+mode = production');
    expect(d.diff).toContain('Binary file /root/work/blob.bin added');
    expect(d.diff).toContain('Symlink added: /root/work/link: absent -> symlink -> app.conf');

    // The final grading and snapshot may come after the sandbox stopped: the archive API reads stopped containers.
    await driver.stop(s.id, 1);
    expect((await driver.inspect(s.id))?.runState).toBe('exited');
    const run = await grade(exercise, s);
    expect(run.results.map((r) => [r.id, r.verdict])).toEqual([
      ['color-set', 'fail'],
      ['mode-production', 'pass'],
      ['workspace-intact', 'pass'],
    ]);
    const final = await snapshotSandbox(driver, s.id, exercise.collect);
    expect((await diffSnapshots(after, final)).changed).toEqual([]);
  }, 60_000);

  it('runs clean-room jobs side by side, and each check once the jobs it needs have ended', async () => {
    const s = await sandboxFor(fixture('fixture-basic'));
    // Each job prints when it started and ended; the checks see the jobs' files only once those have ended.
    const timed = 'date +%s.%N; sleep 2; date +%s.%N';
    const exercise = adhocExercise({
      id: 'side-by-side',
      checks: {
        'reads-a': { script: '#!/bin/bash\ntest -s /cleanroom/a/output.log || { echo "no result of a"; exit 1; }\n' },
        // Listed second, ready first: it reads no job, so it runs while both still run.
        early: { script: '#!/bin/bash\nls /cleanroom 2>/dev/null; test ! -e /cleanroom/a && test ! -e /cleanroom/b\n' },
        overlap: {
          script: [
            '#!/bin/bash',
            'read -r a0 a1 <<<"$(tr "\\n" " " </cleanroom/a/output.log)"',
            'read -r b0 b1 <<<"$(tr "\\n" " " </cleanroom/b/output.log)"',
            'echo "a $a0..$a1 b $b0..$b1"',
            'awk -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" \'BEGIN { exit !(a0 < b1 && b0 < a1) }\'',
            '',
          ].join('\n'),
        },
      },
    });
    try {
      const sideBySide: Exercise = {
        ...exercise,
        checks: exercise.checks.map((c) => ({ ...c, needs: { 'reads-a': ['a'], early: [] as string[] }[c.id] })),
        cleanroom: ['a', 'b'].map((id) => ({ id, image: 'base', copy: '/root/work', gitHead: false, bring: [], run: timed, timeoutSeconds: 20 })),
      };
      const r = await grade(sideBySide, s);
      expect(r.results.map((c) => [c.id, c.verdict])).toEqual([
        ['reads-a', 'pass'],
        ['early', 'pass'],
        ['overlap', 'pass'],
      ]);
      expect(r.cleanroom.map((c) => [c.id, c.exitCode])).toEqual([
        ['a', 0],
        ['b', 0],
      ]);
      expect(r.results[2]!.message).toMatch(/^a [0-9.]+\.\.[0-9.]+ b /);
      // A check waiting for a job the exercise does not run would wait forever: refused before anything starts.
      const waitsForNothing = { ...sideBySide, checks: sideBySide.checks.map((c) => ({ ...c, needs: ['nope'] })) };
      await expect(grade(waitsForNothing, s)).rejects.toThrow(/needs clean-room job "nope", which the exercise does not declare/);
    } finally {
      exercise.remove();
    }
    expect(await jobContainers()).toEqual([]);
  }, 60_000);

  it('runs a job marked alone after its grading\'s other jobs, and never beside another grading\'s alone job', async () => {
    const s = await sandboxFor(fixture('fixture-basic'));
    const timed = 'date +%s.%N; sleep 2; date +%s.%N';
    const exercise = adhocExercise({
      id: 'alone-jobs',
      checks: { times: { script: '#!/bin/bash\ncat /cleanroom/m/output.log /cleanroom/o/output.log | tr "\\n" " "\n' } },
    });
    try {
      const measured: Exercise = {
        ...exercise,
        cleanroom: [
          { id: 'm', image: 'base', copy: '/root/work', gitHead: false, alone: true, bring: [], run: timed, timeoutSeconds: 20 },
          { id: 'o', image: 'base', copy: '/root/work', gitHead: false, bring: [], run: timed, timeoutSeconds: 20 },
        ],
      };
      // Two gradings at once, as two attempts' final gradings would be.
      const runs = await Promise.all([grade(measured, s), grade(measured, s)]);
      const spans = runs.map((r) => {
        expect(r.results[0]!.verdict, r.results[0]!.details).toBe('pass');
        const [m0, m1, o0, o1] = r.results[0]!.message.split(' ').map(Number);
        return { m: [m0!, m1!], o: [o0!, o1!] };
      });
      const overlap = (a: number[], b: number[]) => a[0]! < b[1]! && b[0]! < a[1]!;
      for (const [i, own] of spans.entries()) {
        expect(own.m[0], 'the measurement starts once its own grading\'s other job has ended').toBeGreaterThanOrEqual(own.o[1]!);
        const other = spans[1 - i]!;
        expect(overlap(own.m, other.m), JSON.stringify(spans)).toBe(false);
      }
    } finally {
      exercise.remove();
    }
    expect(await jobContainers()).toEqual([]);
  }, 90_000);

  it('removes the grader and clean-room containers when a grading fails half-way', async () => {
    const base = fixture('fixture-basic');
    const s = await sandboxFor(base);
    const exercise: Exercise = {
      ...base,
      cleanroom: [
        { id: 'ok', image: 'base', copy: '/root/work', gitHead: false, bring: [], run: 'true', timeoutSeconds: 10 },
        { id: 'broken', image: 'no-such-image', copy: '/root/work', gitHead: false, bring: [], run: 'true', timeoutSeconds: 10 },
      ],
    };
    await expect(grade(exercise, s)).rejects.toThrow(/no-such-image/);
    expect(await jobContainers()).toEqual([]);
  });

  it('refuses to grade a sandbox that does not exist', async () => {
    const exercise = fixture('fixture-basic');
    await expect(
      gradeSandbox({ driver, sandboxId: 'no-such-sandbox', exercise, params: {}, seed: 'x', labels: labels() }),
    ).rejects.toThrow(/does not exist/);
    expect(await jobContainers()).toEqual([]);
  });
});
