// Item 19, grading limits: the containers grading starts are held to the sandboxes' limits. A clean room (which
// runs the candidate's code) keeps only the capabilities the operator narrowed sandboxes to, its process limit
// holds under a fork bomb (also under gVisor, where the limit is RLIMIT_NPROC inside the Sentry), and a disk writer
// in it is stopped at the sandbox disk quota. A burst of check runs from many attempts goes through one bounded
// queue: never more gradings (and so grader and clean-room containers) at once than OPSLAB_GRADING_CONCURRENCY,
// the queue visible in /api/health and in the waiting attempts' views, the run past OPSLAB_GRADING_QUEUE_MAX
// refused with Retry-After, and a final grading submitted during the burst completes ahead of the waiting runs.
//
// Already proven elsewhere: test/unit/grading-queue.test.ts (order, refusal, positions, room), test/unit/
// container-spec.test.ts (the clean room's options under each runtime), test/security/fork-bomb.test.ts and
// disk.test.ts (the same limits on sandboxes).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import type { CleanroomSpec } from '../../server/src/exercises/catalog.js';
import { DISK_QUOTA_EXIT_CODE, runCleanroom } from '../../server/src/grading/cleanroom.js';
import type { FileSource } from '../../server/src/grading/file-source.js';
import { repoRoot } from '../../server/src/paths.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { api, attemptCookieToken, startAttempt, type StartedAttempt } from '../helpers/api.js';
import { docker, requireDocker, testLabels, TEST_LABEL, TEST_RUN } from '../helpers/docker.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const ITEM = '19 grading limits';
const MiB = 1024 * 1024;

/** The operator narrows sandboxes to two capabilities: CHOWN (bit 0) and KILL (bit 5). */
const NARROWED = ['CHOWN', 'KILL'];
const NARROWED_MASK = (1n << 0n) | (1n << 5n);
const PIDS = 64;
const DISK_QUOTA_MB = 128;

const MINE = { 'opslab.test.file': `grading-limits-${process.pid}-${Date.now().toString(36)}` };

/** A copy that does not exist in the sandbox: the job runs in an empty directory. */
const nothing: FileSource = {
  copyOut: () => Promise.reject(Object.assign(new Error('absent'), { statusCode: 404 })),
};

describe(`security 19: grading limits (${SANDBOX_RUNTIME})`, () => {
  describe('a clean room has exactly the sandbox hardening', () => {
    const policy = loadConfig({
      OPSLAB_SANDBOX_CAPABILITIES: NARROWED.join(','),
      OPSLAB_SANDBOX_PIDS: String(PIDS),
      OPSLAB_SANDBOX_DISK_MB: String(DISK_QUOTA_MB),
      ...(process.env.OPSLAB_SANDBOX_RUNTIME ? { OPSLAB_SANDBOX_RUNTIME: process.env.OPSLAB_SANDBOX_RUNTIME } : {}),
    }).sandbox;
    let driver: DockerDriver;
    const exerciseDir = path.join(repoRoot(), 'test/fixtures/grading-limits/queue-demo');

    const job = (id: string, run: string, timeoutSeconds = 60): CleanroomSpec => ({
      id,
      image: 'base',
      copy: '/root/work',
      run,
      timeoutSeconds,
      gitHead: false,
      bring: [],
    });

    const clean = (spec: CleanroomSpec) =>
      runCleanroom(
        {
          driver,
          exercise: { dir: exerciseDir },
          cleanroomLimits: { memoryMb: 512, cpus: 1, pids: PIDS },
          cleanroomDisk: { quotaBytes: policy.diskQuotaBytes, intervalMs: 500 },
          imageRef: (name) => `opslab/sandbox-${name}:latest`,
        },
        nothing,
        spec,
        {},
        { labels: { ...testLabels(), ...MINE }, exerciseId: 'grading-limits' },
      );

    beforeAll(async () => {
      await requireDocker();
      driver = new DockerDriver({ instance: `gl${process.pid}`, policy, extraLabels: { ...testLabels(), ...MINE } });
    });

    afterAll(async () => {
      const left = await docker.listContainers({ all: true, filters: { label: [`opslab.test.file=${MINE['opslab.test.file']}`] } });
      await Promise.all(left.map((c) => driver?.remove(c.Id)));
    });

    it('keeps only the capabilities the operator narrowed sandboxes to', async () => {
      const r = await clean(job('caps', "grep -E '^Cap(Eff|Bnd):' /proc/self/status"));
      const text = r.output.toString();
      const eff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(text)?.[1] ?? 'ffffffffffffffff'}`);
      const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(text)?.[1] ?? 'ffffffffffffffff'}`);
      figure(ITEM, `clean room CapEff with OPSLAB_SANDBOX_CAPABILITIES=${NARROWED.join(',')}`, `0x${eff.toString(16)}`);
      expect(r.exitCode).toBe(0);
      expect(eff).toBe(NARROWED_MASK);
      expect(bnd).toBe(NARROWED_MASK);
    });

    it('holds its process limit under a fork bomb, and stays up', async () => {
      // Python's fork fails at once at the limit (bash would retry for seconds); the children sleep, so they stay.
      const bomb = String.raw`python3 - <<'PY'
import os, time
n = 0
for _ in range(2000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    n += 1
print("forked", n, flush=True)
PY
echo "alive after the bomb"`;
      const t0 = Date.now();
      const r = await clean(job('bomb', bomb));
      const ms = Date.now() - t0;
      const text = r.output.toString();
      const forked = Number(/forked (\d+)/.exec(text)?.[1] ?? -1);
      figure(ITEM, `clean room fork bomb: processes made (limit ${PIDS})`, forked);
      figure(ITEM, 'clean room fork bomb: job time', ms, 'ms');
      expect(text).toContain('alive after the bomb');
      expect(forked).toBeGreaterThan(0);
      expect(forked).toBeLessThan(PIDS);
    });

    // The job's own bound is 120 s: the test waits past it, so that a slow stop fails with the job's result.
    it('is stopped when it writes past the sandbox disk quota', { timeout: 180_000 }, async () => {
      const t0 = Date.now();
      // To the container's own filesystem (under gVisor /tmp is an in-memory tmpfs, held by the memory limit), 1.5 GB
      // in 32 MB steps at most ten a second: the quota is sampled, so a writer fast enough to finish within one
      // sample (a single dd into the page cache did, once) overshoots by design (SECURITY.md, known limits); this
      // one must be stopped on the way.
      const writer = 'for i in $(seq 48); do head -c 32M /dev/zero >>/var/tmp/fill || exit 1; sleep 0.1; done; echo "wrote it all"';
      const r = await clean(job('disk', writer, 120));
      const ms = Date.now() - t0;
      const text = r.output.toString();
      figure(ITEM, `clean room disk writer stopped (quota ${DISK_QUOTA_MB} MB): job time`, ms, 'ms');
      figure(ITEM, 'clean room disk writer: exit code', r.exitCode);
      expect(r.exitCode).toBe(DISK_QUOTA_EXIT_CODE);
      expect(text).toMatch(new RegExp(`over the quota of ${DISK_QUOTA_MB} MB`));
      expect(text).not.toContain('wrote it all');
      const written = Number(/wrote (\d+) MB/.exec(text)?.[1] ?? 0);
      figure(ITEM, 'clean room disk writer: MB written when stopped', written, 'MB');
      expect(written * MiB).toBeGreaterThan(DISK_QUOTA_MB * MiB);
    });
  });

  describe('a burst of check runs goes through one bounded queue', () => {
    const CONCURRENCY = 2;
    const QUEUE_MAX = 3;
    const PRACTICE = 6;
    const server = useTestServer({
      env: {
        OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/grading-limits'),
        OPSLAB_MAX_SANDBOXES: '14',
        OPSLAB_PRACTICE_MAX_SANDBOXES: String(PRACTICE),
        OPSLAB_GRADING_CONCURRENCY: String(CONCURRENCY),
        OPSLAB_GRADING_QUEUE_MAX: String(QUEUE_MAX),
      },
    });
    let staff: StaffSession;
    const attempts: StartedAttempt[] = [];
    let interview: { id: string; token: string };

    const jobContainers = async () => {
      const list = await docker.listContainers({
        all: true,
        filters: { label: [`${TEST_LABEL}=${TEST_RUN}`, `${LABELS.instance}=${server.services.instance}`, LABELS.role] },
      });
      return list.filter((c) => c.Labels[LABELS.role] === 'grader' || c.Labels[LABELS.role] === 'cleanroom');
    };

    beforeAll(async () => {
      staff = await staffSession(server, 'interviewer');
      for (let i = 0; i < PRACTICE; i++) attempts.push(await startAttempt(server.url, 'queue-demo'));
      const res = await fetch(`${server.url}/api/manage/invites`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...staff.headers },
        body: JSON.stringify({ exerciseId: 'queue-demo', candidateName: 'C', candidateEmail: 'c@example.test', showFeedback: true }),
      });
      expect(res.status).toBe(201);
      const token = new URL(((await res.json()) as { invite: { link: string } }).invite.link).hash.slice(1);
      const started = await api(server.url, 'POST', '/api/invite/start', token);
      expect(started.status).toBeLessThan(300);
      // The link only claims the attempt: the browser that started holds the attempt's own token, in its cookie.
      interview = { id: started.body.attempt.id, token: attemptCookieToken(started.headers, started.body.attempt.id) };
    });

    it('never runs more gradings than the concurrency, shows the queue, refuses past it, and grades a final first', async () => {
      let maxContainers = 0;
      let maxGraders = 0;
      let maxQueued = 0;
      let maxWaitMs = 0;
      let sawQueuedView = false;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const jobs = await jobContainers();
          maxContainers = Math.max(maxContainers, jobs.length);
          maxGraders = Math.max(maxGraders, jobs.filter((c) => c.Labels[LABELS.role] === 'grader').length);
          const health = await api(server.url, 'GET', '/api/health');
          maxQueued = Math.max(maxQueued, health.body?.grading?.queued ?? 0);
          maxWaitMs = Math.max(maxWaitMs, health.body?.grading?.oldestWaitMs ?? 0);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      const t0 = Date.now();
      const answeredAt: number[] = [];
      const runs = attempts.map((a) =>
        api(server.url, 'POST', `/api/attempts/${a.attempt.id}/checks`, a.token).then((r) => {
          if (r.status === 200) answeredAt.push(Date.now());
          return r;
        }),
      );
      // Everything has arrived: some run, the rest wait (or were refused).
      await new Promise((r) => setTimeout(r, 500));
      const waiting = attempts[attempts.length - 2]!;
      const view = await api(server.url, 'GET', `/api/attempts/${waiting.attempt.id}`, waiting.token);
      if (view.body.attempt.grading?.state === 'queued') sawQueuedView = true;
      const again = await api(server.url, 'POST', `/api/attempts/${attempts[0]!.attempt.id}/checks`, attempts[0]!.token);
      // The interview ends during the burst: its final grading goes ahead of the waiting check runs.
      const submitStarted = Date.now();
      let submitDone = false;
      const submitted = api(server.url, 'POST', `/api/attempts/${interview.id}/submit`, interview.token).finally(() => (submitDone = true));
      // What staff see of the ending interview while its final grading waits or runs.
      const staffStates = new Set<string>();
      while (!submitDone) {
        const bundle = await fetch(`${server.url}/api/manage/attempts/${interview.id}`, { headers: staff.headers }).then((r) => r.json() as Promise<any>);
        if (bundle.attempt?.grading?.state) staffStates.add(bundle.attempt.grading.state);
        await new Promise((r) => setTimeout(r, 100));
      }
      const submit = await submitted;
      const submitAt = Date.now();
      const finalMs = submitAt - submitStarted;
      const answers = await Promise.all(runs);
      const burstMs = Date.now() - t0;
      sampling = false;
      await sampler;

      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 503);
      figure(ITEM, `check runs asked at once (concurrency ${CONCURRENCY}, queue max ${QUEUE_MAX})`, attempts.length);
      figure(ITEM, 'check runs graded / refused as busy', `${ok.length} / ${refused.length}`);
      figure(ITEM, 'max concurrent grader+clean-room containers observed on the engine', maxContainers);
      figure(ITEM, 'max concurrent grader containers observed', maxGraders);
      figure(ITEM, 'max queue length in /api/health', maxQueued);
      figure(ITEM, 'max oldest wait in /api/health', maxWaitMs, 'ms');
      figure(ITEM, 'final grading submitted during the burst: time to graded', finalMs, 'ms');
      figure(ITEM, 'staff view of the ending interview showed its grading', [...staffStates].join(', ') || 'nothing');
      figure(ITEM, 'whole burst', burstMs, 'ms');

      // Bounded: never more than the concurrency's gradings, each with its grader and at most one clean room.
      expect(maxGraders).toBeLessThanOrEqual(CONCURRENCY);
      expect(maxContainers).toBeLessThanOrEqual(2 * CONCURRENCY);
      expect(maxGraders).toBeGreaterThan(0);
      // Visible: the queue in /api/health and in a waiting attempt's view; the staff view of the ending interview.
      expect(maxQueued).toBeGreaterThan(0);
      expect(maxWaitMs).toBeGreaterThan(0);
      expect(sawQueuedView).toBe(true);
      expect(staffStates.has('running')).toBe(true);
      // The final grading went ahead of the check runs that were waiting when it came.
      expect(Math.max(...answeredAt)).toBeGreaterThan(submitAt);
      // One run per attempt at a time.
      expect(again.status).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
      // Past the queue's length: refused with a clear answer, nothing queued for it.
      expect(refused.length).toBe(PRACTICE - CONCURRENCY - QUEUE_MAX);
      for (const r of refused) {
        expect(r.body.error.message).toMatch(/grader is busy.*try again/i);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Every admitted run graded for real (the clean room ran), and the final grading completed.
      for (const r of ok) expect(r.body.results.score).toBe(5);
      expect(submit.status).toBe(200);
      const bundle = await fetch(`${server.url}/api/manage/attempts/${interview.id}`, { headers: staff.headers }).then((r) => r.json() as Promise<any>);
      expect(bundle.grading?.score).toBe(5);
      const health = await api(server.url, 'GET', '/api/health');
      expect(health.body.grading).toMatchObject({ running: 0, queued: 0, concurrency: CONCURRENCY, maxQueued: QUEUE_MAX });
    }, 300_000);
  });
});
