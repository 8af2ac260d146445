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
});
