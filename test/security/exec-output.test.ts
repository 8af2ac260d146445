// Item 13, exec output: the platform runs programs in a sandbox (to provision it, to bring its services back after a
// restart, before the final grading). A candidate who replaces those programs with ones that print forever must not
// make the server hold their output: what an exec keeps is capped, a stream that never ends is cut off, and where
// the platform only needs a fact about the sandbox's files it asks the engine instead of running the sandbox's tools.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGvisor } from '../../server/src/sandbox/policy.js';
import { ExecLimitError } from '../../server/src/sandbox/sandbox-driver.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt, type StartedAttempt } from '../helpers/api.js';
import { echoTimes, percentile, shellRun } from '../helpers/sandbox-probe.js';

const ITEM = '13 exec output';
const MiB = 1024 * 1024;
/** How much the server (in this process) may grow while the sandbox floods it. */
const RSS_BOUND_BYTES = 200 * MiB;
const round = (n: number) => Math.round(n * 100) / 100;

/** The tools the platform ran (or might run) in a sandbox, each replaced by a program printing /dev/zero forever. */
const REPLACED = ['/usr/bin/test', '/usr/bin/[', '/usr/bin/mkdir', '/usr/bin/rm', '/usr/bin/cat', '/usr/bin/stat', '/usr/bin/ls'];
const FLOOD = '/opt/flood/cat';

/** Samples this process's RSS (the test server runs in it) every few milliseconds; `peak()` is the growth. */
function rssSampler() {
  const base = process.memoryUsage().rss;
  let max = base;
  const timer = setInterval(() => (max = Math.max(max, process.memoryUsage().rss)), 20);
  return {
    peak: () => Math.max(max, process.memoryUsage().rss) - base,
    stop: () => clearInterval(timer),
  };
}

/** Keystroke echoes in a loop on another attempt's terminal until stopped; returns every echo time. */
function echoLoop(term: TestTerminal) {
  const times: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      times.push(...(await echoTimes(term, 1, 30_000)));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return times;
    },
  };
}

describe(`security 13: exec output (${SANDBOX_RUNTIME})`, () => {
  const server = useTestServer();
  let flooder: StartedAttempt;
  let other: StartedAttempt;
  let term: TestTerminal;
  let otherTerm: TestTerminal;
  let sandboxId: string;

  beforeAll(async () => {
    flooder = await startAttempt(server.url);
    other = await startAttempt(server.url);
    sandboxId = (await server.services.attempts.get(flooder.attempt.id))!.sandboxId!;
    term = await TestTerminal.connect(server.url, flooder.attempt.id, flooder.token);
    otherTerm = await TestTerminal.connect(server.url, other.attempt.id, other.token);
    await shellRun(term, 'true');
    await shellRun(otherTerm, 'true');
  });
  afterAll(async () => {
    term?.close();
    otherTerm?.close();
  });

  it('cuts off an exec whose program prints forever, keeping its head and tail', async () => {
    const rss = rssSampler();
    const t0 = performance.now();
    // The timeout bounds the damage where nothing else does; the read limit is meant to end it long before.
    const err = await server.services.driver
      .exec(sandboxId, ['cat', '/dev/zero'], { timeoutMs: 10_000 })
      .then(() => null, (e: unknown) => e);
    const ms = performance.now() - t0;
    rss.stop();
    const kept = err instanceof ExecLimitError ? err.stdout.length + err.stderr.length : 0;
    figure(ITEM, 'direct exec of cat /dev/zero: ended after', round(ms / 1000), 's');
    figure(ITEM, 'direct exec of cat /dev/zero: server RSS growth', Math.round(rss.peak() / MiB), 'MiB');
    figure(ITEM, 'direct exec of cat /dev/zero: output kept', Math.round(kept / 1024), 'KiB');
    expect(err).toBeInstanceOf(ExecLimitError);
    expect((err as ExecLimitError).limit).toBe('output');
    expect((err as ExecLimitError).stdout).toMatch(/\[opslab\] \d+ bytes of output left out here/);
    expect(kept).toBeLessThan(4 * MiB);
    expect(rss.peak()).toBeLessThan(RSS_BOUND_BYTES);
  });

  it('survives replaced tools and a boot script through restart and submit: memory bounded, answers, other terminals live', async () => {
    // As the candidate: keep a real cat for the flood, replace every tool the platform might run with a flooder,
    // and install a boot script (the platform runs it by design, through the sandbox's shell, cat and rm). The
    // flooders print forever into a pipe (an exec's output) and leave a terminal alone: the login shell runs some of
    // these tools, and a flood of the candidate's own terminal is item 6's (the test client here keeps all it gets).
    const setup = [
      `mkdir -p /opt/flood /etc/opslab`,
      `cp /usr/bin/cat ${FLOOD}`,
      `printf '#!/bin/sh\\n[ -t 1 ] && exit 0\\nexec ${FLOOD} /dev/zero\\n' > /opt/flood/flood`,
      `chmod 755 /opt/flood/flood`,
      `printf '#!/bin/sh\\necho boot-ran\\n' > /etc/opslab/boot`,
      `chmod 755 /etc/opslab/boot`,
      ...REPLACED.map((p) => `/opt/flood/cat /opt/flood/flood > ${p}`),
      `echo "replaced-$((3+3))"`,
    ].join('; ');
    expect(await shellRun(term, setup, 30_000)).toContain('replaced-6');
    expect(await shellRun(term, `/usr/bin/test -x / | head -c 5 | wc -c`, 15_000)).toContain('5');

    const rss = rssSampler();
    const echoes = echoLoop(otherTerm);
    try {
      // The shell exits (the container stops); restarting it starts the container and brings services back.
      term.type('exit\r');
      await term.waitFor(() => term.controls.filter((c) => c.type === 'shell-exited').length >= 1, 30_000);
      let t0 = performance.now();
      const restart = await api(server.url, 'POST', `/api/attempts/${flooder.attempt.id}/restart-shell`, flooder.token);
      const restartMs = performance.now() - t0;
      figure(ITEM, 'restart-shell answered after', round(restartMs / 1000), 's');
      expect(restart.status).toBe(200);
      expect(await shellRun(term, 'echo "alive-$((2+2))"', 30_000)).toContain('alive-4');
      // The boot script ran, and the sandbox's cat flooded its output until the exec was cut off: the writer is
      // left blocked on its full pipe (the engine cannot kill an exec), until the sandbox stops. (The engine lists
      // no processes of a gVisor sandbox.)
      if (!isGvisor(SANDBOX_RUNTIME)) {
        const left = await server.services.driver.processes(sandboxId);
        expect(left.some((p) => p.args === `${FLOOD} /dev/zero`)).toBe(true);
      }

      // Stopped again, then submitted: the final grading starts the container and runs the boot script first.
      term.type('exit\r');
      await term.waitFor(() => term.controls.filter((c) => c.type === 'shell-exited').length >= 2, 30_000);
      t0 = performance.now();
      const submit = await api(server.url, 'POST', `/api/attempts/${flooder.attempt.id}/submit`, flooder.token);
      const submitMs = performance.now() - t0;
      figure(ITEM, 'submit (final grading) answered after', round(submitMs / 1000), 's');
      expect(submit.status).toBe(200);
      expect((await server.services.attempts.get(flooder.attempt.id))!.state).toBe('archived');
      expect(restartMs).toBeLessThan(60_000);
      expect(submitMs).toBeLessThan(120_000);
    } finally {
      const times = await echoes.stop();
      rss.stop();
      figure(ITEM, 'server RSS growth, restart and submit', Math.round(rss.peak() / MiB), 'MiB');
      if (times.length > 0) {
        figure(ITEM, "other attempt's echo p99 meanwhile", round(percentile(times, 99)), 'ms');
        figure(ITEM, "other attempt's echoes meanwhile", times.length);
      }
    }
    expect(rss.peak()).toBeLessThan(RSS_BOUND_BYTES);
    expect(await shellRun(otherTerm, 'echo "still-$((3+4))"', 15_000)).toContain('still-7');
  }, 300_000);
});
