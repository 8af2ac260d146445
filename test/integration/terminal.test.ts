import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { HIGH_WATERMARK } from '../../server/src/terminal/attempt-terminal.js';
import { docker } from '../helpers/docker.js';
import { useTestServer } from '../helpers/server.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';

const PROMPT = /root@sandbox[^#]*# $/;
const endsWithPrompt = (t: TestTerminal, from = 0) => () => PROMPT.test(stripAnsi(t.text.slice(from)));

describe('terminal over WebSocket (real Docker engine)', () => {
  const server = useTestServer();

  it('starts an attempt and runs a command typed over the WebSocket', async () => {
    const started = Date.now();
    const { attempt, token } = await startAttempt(server.url);
    expect(attempt.state).toBe('running');
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(endsWithPrompt(term));
    const firstPromptMs = Date.now() - started;
    expect(term.controls[0]).toMatchObject({ type: 'hello', attempt: { id: attempt.id, state: 'running' } });
    term.type('echo opslab-$((6*7))\r');
    await term.waitFor('opslab-42');
    console.log(`[figure] start → first prompt byte over WebSocket: ${firstPromptMs} ms`);
    term.close();
  });

  it('repaints the previous screen when the browser reconnects', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const first = await TestTerminal.connect(server.url, attempt.id, token);
    await first.waitFor(endsWithPrompt(first));
    first.type('echo before-$((20+3))-reload\r');
    await first.waitFor('before-23-reload');
    await first.waitFor(endsWithPrompt(first));
    first.close();
    await first.closed;
    const second = await TestTerminal.connect(server.url, attempt.id, token);
    await second.waitFor(() => second.repaint !== null);
    expect(second.controls.map((c) => c.type).slice(0, 2)).toEqual(['hello', 'repaint']);
    expect(stripAnsi(second.repaint!)).toContain('before-23-reload');
    second.type('echo after-$((20+4))\r');
    await second.waitFor('after-24');
    second.close();
  });

  it('replaces an older connection of the same attempt (close code 4000)', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const first = await TestTerminal.connect(server.url, attempt.id, token);
    const second = await TestTerminal.connect(server.url, attempt.id, token);
    expect((await first.closed).code).toBe(4000);
    second.close();
  });

  it('refuses forged origins, missing and wrong tokens before the upgrade', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const other = await startAttempt(server.url);
    const url = `${server.url}/api/attempts/${attempt.id}/terminal`;
    const auth = { authorization: `Bearer ${token}` };
    expect(await TestTerminal.refusedStatus(url, { ...auth, origin: 'https://evil.example.com' })).toBe(403);
    expect(await TestTerminal.refusedStatus(url, { ...auth, origin: 'null' })).toBe(403);
    expect(await TestTerminal.refusedStatus(url, {})).toBe(401);
    expect(await TestTerminal.refusedStatus(url, { authorization: `Bearer ${other.token}` })).toBe(404);
    expect(
      await TestTerminal.refusedStatus(`${server.url}/api/attempts/a_00000000000000000000/terminal`, auth),
    ).toBe(404);
    // The page's own origin (the Host the request was sent to) is accepted.
    const ok = await TestTerminal.connect(server.url, attempt.id, token, { origin: server.url });
    ok.close();
    // Cross-origin state changes are refused too.
    const res = await fetch(`${server.url}/api/attempts/${attempt.id}/submit`, {
      method: 'POST',
      headers: { ...auth, origin: 'https://evil.example.com' },
    });
    expect(res.status).toBe(403);
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt.state).toBe('running');
  });

  it('keeps server memory bounded under an output flood, and Ctrl-C brings the prompt back', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(endsWithPrompt(term));
    const terminal = await server.services.attempts.terminalFor((await server.services.attempts.get(attempt.id))!);

    // A browser that stops acknowledging: the shell is paused, nothing piles up on the server.
    term.autoAck = false;
    const rssBefore = process.memoryUsage().rss;
    term.type('cat /dev/urandom | base64\r');
    await term.waitFor(() => term.receivedBytes > HIGH_WATERMARK);
    let maxPressure = 0;
    for (let i = 0; i < 20; i++) {
      maxPressure = Math.max(maxPressure, terminal.pressure);
      await new Promise((r) => setTimeout(r, 50));
    }
    const heldBytes = term.receivedBytes;
    expect(terminal.isPaused).toBe(true);
    expect(maxPressure).toBeLessThan(HIGH_WATERMARK + 1024 * 1024);
    await new Promise((r) => setTimeout(r, 300));
    expect(term.receivedBytes - heldBytes).toBeLessThan(1024 * 1024); // the flow really stopped

    // Acknowledging again resumes it; then a `yes` flood at full speed with a browser that keeps up.
    term.autoAck = true;
    term.ack(term.receivedBytes);
    term.type('\x03');
    await term.waitFor(endsWithPrompt(term, term.text.length - 200), 10_000);
    const floodStart = term.receivedBytes;
    term.type('yes opslab-flood\r');
    await term.waitFor(() => term.receivedBytes - floodStart > 8 * 1024 * 1024, 30_000);
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    const mark = term.text.length;
    const ctrlC = Date.now();
    term.type('\x03');
    await term.waitFor(() => stripAnsi(term.text.slice(mark)).includes('^C') || endsWithPrompt(term, mark)(), 10_000);
    await term.waitFor(endsWithPrompt(term, Math.max(mark, term.text.length - 4096)), 10_000);
    const promptMs = Date.now() - ctrlC;
    console.log(
      `[figure] flood: ${(term.receivedBytes - floodStart) / 1024 / 1024 | 0} MiB delivered; server RSS growth ${rssGrowthMb.toFixed(1)} MB; ` +
        `max unacknowledged ${maxPressure} B; Ctrl-C → prompt ${promptMs} ms`,
    );
    expect(promptMs).toBeLessThan(5000);
    expect(rssGrowthMb).toBeLessThan(300);
    term.type('echo alive-$((1+1))\r');
    await term.waitFor('alive-2');
    term.close();
  });

  it('records output and typed input as asciicast v2, downloadable through the API', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(endsWithPrompt(term));
    term.resize(100, 30);
    term.type('echo recorded-$((7*6))\r');
    await term.waitFor('recorded-42');
    const res = await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording`, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-asciicast');
    const cast = parseAsciicast(res.text);
    expect(cast.header).toMatchObject({ version: 2, width: 80, height: 24 });
    const input = cast.events.filter((e) => e[1] === 'i').map((e) => e[2]).join('');
    const output = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(input).toContain('echo recorded-$((7*6))\r');
    expect(output).toContain('recorded-42');
    expect(cast.events.some((e) => e[1] === 'r' && e[2] === '100x30')).toBe(true);
    expect(cast.events.find((e) => e[1] === 'm')?.[2]).toBe('started');
    const times = cast.events.map((e) => e[0]);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording`)).status).toBe(401);
    term.close();
  });

  it('offers to restart an exited shell in the same container, files kept', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(endsWithPrompt(term));
    term.type('echo kept > /root/kept.txt; exit\r');
    await term.waitFor(() => term.controls.some((c) => c.type === 'shell-exited'));
    await term.waitFor(() =>
      term.controls.some((c) => c.type === 'attempt' && (c.attempt as { sandbox: string }).sandbox === 'exited'),
    );
    const restarted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/restart-shell`, token);
    expect(restarted.status).toBe(200);
    expect(restarted.body.attempt.sandbox).toBe('running');
    const again = await TestTerminal.connect(server.url, attempt.id, token);
    again.type('cat /root/kept.txt | tr a-z A-Z\r');
    await again.waitFor('KEPT');
    again.close();
    term.close();
  });

  it('expires the attempt at its deadline on the server and removes its container', async () => {
    const { attempt, token } = await server.services.attempts.start('shell-warmup', { timeLimitSeconds: 3 });
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    const closed = await term.closed;
    expect(closed.code).toBe(4410);
    expect(closed.reason).toMatch(/time is up/i);
    let view = (await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt;
    expect(view.endReason).toBe('expired');
    // Ended at once; archived once the sandbox is removed.
    for (let i = 0; i < 100 && view.state !== 'archived'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = (await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt;
    }
    expect(view.state).toBe('archived');
    await expect(docker.getContainer(attempt.sandboxId!).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await TestTerminal.refusedStatus(`${server.url}/api/attempts/${attempt.id}/terminal`, {
      authorization: `Bearer ${token}`,
    })).toBe(410);
    const cast = parseAsciicast(fs.readFileSync(server.services.attempts.recordingFile((await server.services.attempts.get(attempt.id))!), 'utf8'));
    expect(cast.events.at(-1)?.slice(1)).toEqual(['m', 'expired']);
  });
});
