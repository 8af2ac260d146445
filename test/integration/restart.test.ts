import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { docker, requireDocker } from '../helpers/docker.js';
import { tempDataDir } from '../helpers/server.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';
import { freePort, ServerProcess } from '../helpers/server-process.js';

describe('server restarts (real server process, real engine)', () => {
  let server: ServerProcess;
  const attempts: string[] = [];

  beforeAll(async () => {
    await requireDocker();
    server = new ServerProcess(await freePort(), tempDataDir());
    await server.start();
  });

  afterAll(async () => {
    await server?.stop('SIGKILL');
    for (const id of attempts) {
      const list = await docker.listContainers({ all: true, filters: { label: [`opslab.attempt=${id}`] } });
      await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    }
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it.each([
    ['a graceful restart (SIGTERM)', 'SIGTERM' as const],
    ['a crash (SIGKILL)', 'SIGKILL' as const],
  ])('after %s the same shell is adopted with its state and screen', async (_label, signal) => {
    const { attempt, token } = await startAttempt(server.url);
    attempts.push(attempt.id);
    const before = await TestTerminal.connect(server.url, attempt.id, token);
    before.type('export OPSLAB_MARK=kept-$((40+2)); cd /tmp; echo screen-$((1+1))-before\r');
    await before.waitFor('screen-2-before');
    // Let the recorder's periodic flush run: a crash loses at most about a quarter of a second.
    await new Promise((r) => setTimeout(r, 600));

    const code = await server.stop(signal);
    if (signal === 'SIGTERM') {
      expect(code).toBe(0);
      expect((await before.closed).code).toBe(1012);
    } else {
      await before.closed;
    }
    await server.start();

    const after = await TestTerminal.connect(server.url, attempt.id, token);
    await after.waitFor(() => after.repaint !== null);
    expect(stripAnsi(after.repaint!)).toContain('screen-2-before');
    after.type('echo "$OPSLAB_MARK in $(pwd)"\r');
    await after.waitFor('kept-42 in /tmp');
    const view = (await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt;
    expect(view).toMatchObject({ state: 'running', sandbox: 'running', deadline: attempt.deadline });

    const recording = await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording`, token);
    const cast = parseAsciicast(recording.text);
    const markers = cast.events.filter((e) => e[1] === 'm').map((e) => e[2]);
    expect(markers).toEqual(expect.arrayContaining(['started', 'adopted']));
    const output = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(output).toContain('screen-2-before');
    after.close();
    const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(submitted.body.attempt).toMatchObject({ state: 'archived', endReason: 'submitted' });
  });

  it('recovers what the shell printed while the server was down from the engine log, marked as recovered', async () => {
    const { attempt, token } = await startAttempt(server.url);
    attempts.push(attempt.id);
    const before = await TestTerminal.connect(server.url, attempt.id, token);
    // A burst that goes on after the crash: 40 lines over about 4 s.
    before.type('for i in $(seq 1 40); do echo "burst-line-$i"; sleep 0.1; done; echo burst-$((6*7))-done\r');
    await before.waitFor('burst-line-3\r\n');
    await server.stop('SIGKILL');
    await before.closed;
    // The burst ends while no server records it.
    await new Promise((r) => setTimeout(r, 5_000));
    await server.start();

    const after = await TestTerminal.connect(server.url, attempt.id, token);
    await after.waitFor(() => after.repaint !== null);
    // The repainted screen has the end of the burst too: the mirror is rebuilt from the completed recording.
    expect(stripAnsi(after.repaint!)).toContain('burst-42-done');
    const cast = parseAsciicast((await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording`, token)).text);
    const output = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    for (let i = 1; i <= 40; i++) expect(output.split(`burst-line-${i}\r\n`).length - 1, `burst-line-${i}`).toBe(1);
    expect(output).toContain('burst-42-done');
    const markers = cast.events.filter((e) => e[1] === 'm').map((e) => String(e[2]));
    expect(markers.some((m) => m.startsWith('recovered ('))).toBe(true);
    // Times only go forward.
    const times = cast.events.map((e) => e[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    after.close();
  });
});
