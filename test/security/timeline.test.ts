// Item 15, command timeline: a recording full of shell marks (what a candidate can produce in an attempt) is
// parsed off the event loop, once while it is unchanged, and answered a page at a time.
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS_PAGE } from '../../contract/review.js';
import { api, startAttempt, type StartedAttempt } from '../helpers/api.js';
import { watchEventLoop } from '../helpers/event-loop.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';

const ITEM = '15 command timeline';
const COMMANDS = 120_000;

/** An asciicast with COMMANDS marked commands (prompt, command line, run, exit status), as the sandbox shell writes. */
function hugeCast(): string {
  const lines = [JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 0 })];
  let t = 0;
  for (let i = 0; i < COMMANDS; i++) {
    t += 0.001;
    lines.push(JSON.stringify([Number(t.toFixed(6)), 'o', `\u001b]133;A;aid=1\u0007$ \u001b]133;B\u0007`]));
    lines.push(JSON.stringify([Number(t.toFixed(6)), 'o', `\u001b]133;C;aid=1\u0007\u001b]633;E;echo ${i}\u0007${i}\r\n\u001b]133;D;0;aid=1\u0007`]));
  }
  return `${lines.join('\n')}\n`;
}

describe(`security 15: command timeline of a huge recording (${SANDBOX_RUNTIME})`, () => {
  const server = useTestServer();
  let attempt: StartedAttempt;

  beforeAll(async () => {
    attempt = await startAttempt(server.url);
    expect((await api(server.url, 'POST', `/api/attempts/${attempt.attempt.id}/submit`, attempt.token)).status).toBe(200);
    const file = server.services.attempts.recordingFile((await server.services.attempts.get(attempt.attempt.id))!);
    fs.writeFileSync(file, hugeCast());
    figure(ITEM, 'recording', `${Math.round(fs.statSync(file).size / 1e6)} MB, ${COMMANDS} commands`);
  });

  it('never stalls the event loop, answers a page, and parses once while the recording is unchanged', async () => {
    const loop = watchEventLoop();
    let worst = 0;
    const path = `/api/attempts/${attempt.attempt.id}/commands`;
    let first: Awaited<ReturnType<typeof api>>;
    let second: Awaited<ReturnType<typeof api>>;
    let t0 = 0;
    let firstMs = 0;
    let secondMs = 0;
    try {
      t0 = performance.now();
      first = await api(server.url, 'GET', path, attempt.token);
      firstMs = performance.now() - t0;
      t0 = performance.now();
      second = await api(server.url, 'GET', `${path}?offset=100000&limit=10`, attempt.token);
      secondMs = performance.now() - t0;
    } finally {
      worst = loop.stop();
    }
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(COMMANDS);
    expect(first.body.commands).toHaveLength(COMMANDS_PAGE.default);
    expect(second.body.commands.map((c: { command: string }) => c.command)).toEqual(Array.from({ length: 10 }, (_, i) => `echo ${100_000 + i}`));
    figure(ITEM, 'first request (parse)', Math.round(firstMs), 'ms');
    figure(ITEM, 'second request (kept)', Math.round(secondMs), 'ms');
    figure(ITEM, 'longest event-loop stall', Math.round(worst), 'ms');
    figure(ITEM, 'response bytes, first page', first.text.length);
    expect(worst).toBeLessThan(500);
    expect(secondMs).toBeLessThan(firstMs);
    // However much is asked for, one answer holds at most the page maximum.
    expect((await api(server.url, 'GET', `${path}?limit=99999`, attempt.token)).body.commands).toHaveLength(COMMANDS_PAGE.max);
    expect((await api(server.url, 'GET', `${path}?limit=-1`, attempt.token)).status).toBe(400);
  }, 180_000);
});
