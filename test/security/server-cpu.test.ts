// Item 17, server CPU: what a candidate leaves in the sandbox must not stall the server's event loop while it
// works on it. The final diff of many large files of distinct lines is the costliest case (a line diff is
// quadratic there); every other attempt's terminal must keep answering meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchEventLoop } from '../helpers/event-loop.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt, type StartedAttempt } from '../helpers/api.js';
import { shellRun } from '../helpers/sandbox-probe.js';

const ITEM = '17 server CPU';
const FILES = 12;
/** Lines like "line 12345 67890": about 0.95 MB a file, under the 1 MiB a file the diff compares. */
const LINES = 55_000;

describe(`security 17: server CPU held by a candidate's files (${SANDBOX_RUNTIME})`, () => {
  const server = useTestServer();
  let attempt: StartedAttempt;
  let term: TestTerminal;

  beforeAll(async () => {
    attempt = await startAttempt(server.url);
    term = await TestTerminal.connect(server.url, attempt.attempt.id, attempt.token);
    await shellRun(term, 'true');
  });
  afterAll(async () => {
    term?.close();
  });

  it('keeps the event loop answering while the final diff of large distinct files is made', async () => {
    const make = `mkdir -p /root/work && cd /root/work && for i in $(seq ${FILES}); do seq ${LINES} | awk -v f=$i '{print "line " $1 " " ($1*7919+f) % 100003}' > big-$i.txt; done; du -sk /root/work | cut -f1; cd`;
    const kb = Number.parseInt((await shellRun(term, make, 120_000)).trim().split(/\s+/).pop() ?? '0', 10);
    expect(kb).toBeGreaterThan(FILES * 800);

    const loop = watchEventLoop();
    let worst = 0;
    const t0 = performance.now();
    let res: Awaited<ReturnType<typeof api>>;
    try {
      res = await api(server.url, 'POST', `/api/attempts/${attempt.attempt.id}/submit`, attempt.token);
    } finally {
      worst = loop.stop();
    }
    const submitMs = performance.now() - t0;
    expect(res.status).toBe(200);
    const diff = server.services.attempts.snapshotDiff(attempt.attempt.id);
    expect(diff?.changed.filter((c) => c.path.startsWith('/root/work/big-'))).toHaveLength(FILES);

    figure(ITEM, 'files written by the candidate', `${FILES} x ${Math.round(kb / FILES)} KiB`);
    figure(ITEM, 'submit (final snapshot, grading, diff)', Math.round(submitMs), 'ms');
    figure(ITEM, 'longest event-loop stall during it', Math.round(worst), 'ms');
    // Diffed on the event loop these files held it for over a second; off it, stalls stay short.
    expect(worst).toBeLessThan(500);
  }, 240_000);
});
