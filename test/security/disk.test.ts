// Item 5, disk fill: a sandbox writing past its disk quota is stopped within seconds with a clear reason, the
// attempt stays gradable, and once it is over the host's free space is where it was.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISK_QUOTA_EVENT, DISK_QUOTA_NOTICE } from '../../server/src/sandbox/disk-watch.js';
import { isGvisor } from '../../server/src/sandbox/policy.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { docker, requireDocker } from '../helpers/docker.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt, type StartedAttempt } from '../helpers/api.js';
import { shellRun } from '../helpers/sandbox-probe.js';

const ITEM = '5 disk';
const MiB = 1024 * 1024;
/** A small quota and a short interval keep the test quick; production defaults are 1024 MB and 5 s. */
const QUOTA_MB = 256;
const INTERVAL_S = 1;
const round = (n: number) => Math.round(n * 100) / 100;

describe(`security 5: disk fill (${SANDBOX_RUNTIME})`, () => {
  let server: TestServer;
  let repo: AttemptsRepo;
  let dockerRoot: string;
  let freeBefore: number;
  let attempt: StartedAttempt;
  let sandboxId: string;
  let term: TestTerminal;
  let upperDir: string | undefined;

  const freeBytes = () => {
    const s = fs.statfsSync(dockerRoot);
    return s.bavail * s.bsize;
  };

  beforeAll(async () => {
    await requireDocker();
    dockerRoot = (await docker.info()).DockerRootDir as string;
    freeBefore = freeBytes();
    server = await startTestServer({
      env: { OPSLAB_SANDBOX_DISK_MB: String(QUOTA_MB), OPSLAB_SANDBOX_DISK_INTERVAL_SECONDS: String(INTERVAL_S) },
    });
    repo = new AttemptsRepo(server.services.sql);
    attempt = await startAttempt(server.url);
    sandboxId = (await server.services.attempts.get(attempt.attempt.id))!.sandboxId!;
    const graph = (await docker.getContainer(sandboxId).inspect()).GraphDriver as { Data?: { UpperDir?: string } };
    upperDir = graph.Data?.UpperDir;
    term = await TestTerminal.connect(server.url, attempt.attempt.id, attempt.token);
    await shellRun(term, 'true');
  });
  afterAll(async () => {
    term?.close();
    await server?.destroy();
  });

  it('samples the running sandboxes cheaply', async () => {
    const sweep = await server.services.diskWatch.sweep();
    expect(sweep.sampled).toBeGreaterThanOrEqual(1);
    expect(sweep.stopped).toEqual([]);
    figure(ITEM, 'quota (this test)', QUOTA_MB, 'MiB');
    figure(ITEM, 'sample interval (this test)', INTERVAL_S, 's');
    figure(ITEM, 'sample cost, one fresh sandbox', round(sweep.maxSampleMs), 'ms');
  });

  it('stops a writer past the quota within seconds, with the reason in the terminal and the events', async () => {
    const t0 = performance.now();
    term.type(`dd if=/dev/zero of=/root/fill bs=1M count=4096 status=none; echo "dd-exit=$?"\r`);
    await term.waitFor(() => term.controls.some((c) => c.type === 'notice' && c.code === DISK_QUOTA_NOTICE), 60_000);
    const noticeMs = performance.now() - t0;
    await term.waitFor(() => term.controls.some((c) => c.type === 'shell-exited'), 30_000);
    const stoppedMs = performance.now() - t0;
    const freeAtStop = freeBytes();
    const notice = term.controls.find((c) => c.type === 'notice' && c.code === DISK_QUOTA_NOTICE)!;
    expect(notice.level).toBe('error');
    expect(String(notice.message)).toContain(`quota of ${QUOTA_MB} MB`);
    // Under runc the reason is also printed into the terminal itself (kept on screen and in the recording).
    if (!isGvisor(SANDBOX_RUNTIME)) expect(stripAnsi(term.text)).toContain(`[opslab] The sandbox wrote`);
    const event = (await repo.events(attempt.attempt.id)).find((e) => e.kind === DISK_QUOTA_EVENT);
    expect(event?.detail).toMatchObject({ quotaMb: QUOTA_MB });
    const written = (await server.services.driver.diskUsage!(sandboxId))!;
    expect(written.running).toBe(false);
    expect(written.bytes).toBeGreaterThan(QUOTA_MB * MiB);
    // Stopped, not ended: the attempt keeps running (and its clock), ready to be graded or go on.
    const current = (await server.services.attempts.get(attempt.attempt.id))!;
    expect(current.state).toBe('running');
    figure(ITEM, 'notice after', round(noticeMs / 1000), 's');
    figure(ITEM, 'sandbox stopped after', round(stoppedMs / 1000), 's');
    figure(ITEM, 'written when stopped', Math.round(written.bytes / MiB), 'MiB');
    figure(ITEM, 'host free space used at stop', Math.round((freeBefore - freeAtStop) / MiB), 'MiB');
    expect(stoppedMs).toBeLessThan(30_000);
  });

  it('lets the candidate restart the shell and delete files to get under the quota', async () => {
    const res = await api(server.url, 'POST', `/api/attempts/${attempt.attempt.id}/restart-shell`, attempt.token);
    expect(res.status).toBe(200);
    expect(await shellRun(term, 'rm -f /root/fill; echo "removed-$((1+1))"', 30_000)).toContain('removed-2');
    // What a sample costs when the candidate has made many files (the engine walks the writable layer). Fewer
    // under gVisor, where making files through its file proxy is slow.
    const files = isGvisor(SANDBOX_RUNTIME) ? 2000 : 10_000;
    await shellRun(term, `mkdir -p /root/many && cd /root/many && seq ${files} | xargs touch && cd`, 90_000);
    const t0 = performance.now();
    await server.services.driver.diskUsage!(sandboxId);
    figure(ITEM, `sample cost, ${files} files`, round(performance.now() - t0), 'ms');
    // Sweeps after that leave it alone.
    await server.services.diskWatch.sweep();
    await server.services.diskWatch.sweep();
    expect((await docker.getContainer(sandboxId).inspect()).State.Running).toBe(true);
    expect(await shellRun(term, 'echo "alive-$((2+2))"', 15_000)).toContain('alive-4');
    expect((await repo.events(attempt.attempt.id)).filter((e) => e.kind === DISK_QUOTA_EVENT)).toHaveLength(1);
  }, 150_000);

  it('grades the attempt at submit, and leaves the host disk as it was once the sandbox is gone', async () => {
    // Fill it again and submit while stopped: the final grading starts the container and takes its snapshot.
    term.type(`dd if=/dev/zero of=/root/fill2 bs=1M count=4096 status=none\r`);
    await term.waitFor(() => term.controls.filter((c) => c.type === 'shell-exited').length >= 2, 60_000);
    const res = await api(server.url, 'POST', `/api/attempts/${attempt.attempt.id}/submit`, attempt.token);
    expect(res.status).toBe(200);
    expect((await server.services.attempts.get(attempt.attempt.id))!.state).toBe('archived');
    expect(server.services.attempts.snapshotDiff(attempt.attempt.id)).not.toBeNull();
    await expect(docker.getContainer(sandboxId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    if (upperDir) expect(fs.existsSync(upperDir)).toBe(false);
    const delta = freeBefore - freeBytes();
    figure(ITEM, 'host free space change after cleanup', Math.round(delta / MiB), 'MiB');
    // Generous: other work on this machine may write too; the filled gigabytes must be back.
    expect(Math.abs(delta)).toBeLessThan(QUOTA_MB * MiB);
  });
});
