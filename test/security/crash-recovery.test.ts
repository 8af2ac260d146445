// Item 9: kill -9 of the server, and a crash in the middle of provisioning.
//
// Already proven elsewhere: test/integration/restart.test.ts adopts one attempt's shell (state, screen, deadline,
// 'adopted' marker) after SIGTERM and after SIGKILL. Added here: several live attempts at once, one of them
// printing all the time, compared container by container (same container, never restarted), deadline by
// deadline and recording by recording (nothing lost before the last flush); and a crash while a sandbox is being
// provisioned, which must leave no container behind after the one reconcile pass of the next start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { repoRoot } from '../../server/src/paths.js';
import { docker, requireDocker } from '../helpers/docker.js';
import { tempDataDir } from '../helpers/server.js';
import { freePort, ServerProcess } from '../helpers/server-process.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt, type StartedAttempt } from '../helpers/api.js';
import { figure } from '../helpers/figures.js';

const ITEM = '9 crash recovery';
const LIVE = 3;

/** An exercises directory with shell-warmup and an exercise whose setup takes long (to crash in the middle of). */
function exercisesDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-crash-exercises-'));
  fs.cpSync(path.join(repoRoot(), 'exercises', 'shell-warmup'), path.join(dir, 'shell-warmup'), { recursive: true });
  const slow = path.join(dir, 'slow-setup');
  fs.mkdirSync(slow);
  fs.writeFileSync(
    path.join(slow, 'exercise.yaml'),
    'id: slow-setup\ntitle: Slow setup\nsummary: Its setup takes a minute.\ndifficulty: easy\ntimeLimitMinutes: 10\nimage: base\n',
  );
  fs.writeFileSync(path.join(slow, 'README.md'), '# Slow setup\n');
  fs.writeFileSync(path.join(slow, 'setup'), '#!/bin/sh\ntouch /root/setup-started\nsleep 60\n', { mode: 0o755 });
  return dir;
}

async function containerOf(attemptId: string) {
  const list = await docker.listContainers({ all: true, filters: { label: [`opslab.attempt=${attemptId}`] } });
  return Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
}

describe('crash recovery (real server process, real engine)', () => {
  let server: ServerProcess;
  let exercises: string;

  beforeAll(async () => {
    await requireDocker();
    exercises = exercisesDir();
    server = new ServerProcess(await freePort(), tempDataDir(), { OPSLAB_EXERCISES_DIR: exercises });
    await server.start();
  });

  afterAll(async () => {
    await server?.destroy();
    if (exercises) fs.rmSync(exercises, { recursive: true, force: true });
  });

  it(`kill -9 with ${LIVE} live attempts: each is adopted with its container, deadline, shell, screen and recording`, async () => {
    const started: StartedAttempt[] = [];
    for (let i = 0; i < LIVE; i++) started.push(await startAttempt(server.url));
    const before = await Promise.all(
      started.map(async ({ attempt, token }, i) => {
        const term = await TestTerminal.connect(server.url, attempt.id, token);
        term.type(`export MARK=kept-${i}-$((40+2)); cd /tmp; echo before-${i}-$((1+1))\r`);
        await term.waitFor(`before-${i}-2`);
        const [info] = await containerOf(attempt.id);
        return { term, containerId: info!.Id, startedAt: info!.State.StartedAt };
      }),
    );
    // The first attempt prints a numbered line every 50 ms until the end of the test.
    before[0]!.term.type('for i in $(seq 1 100000); do echo tick-$i; sleep 0.05; done\r');
    await before[0]!.term.waitFor('tick-20');
    const ticks = (text: string) => [...stripAnsi(text).matchAll(/tick-(\d+)\r?\n/g)].map((m) => Number(m[1]));

    const killedAt = Date.now();
    await server.stop('SIGKILL');
    const lastSeen = Math.max(...ticks(before[0]!.term.text));
    for (const b of before) await b.term.closed;

    const restartAt = Date.now();
    await server.start();
    const healthMs = Date.now() - restartAt;
    const after = await Promise.all(
      started.map(async ({ attempt, token }) => {
        const term = await TestTerminal.connect(server.url, attempt.id, token);
        await term.waitFor(() => term.repaint !== null);
        return term;
      }),
    );
    const reconnectMs = Date.now() - restartAt;

    for (let i = 0; i < LIVE; i++) {
      const { attempt, token } = started[i]!;
      // The same container, still running since before the crash.
      const infos = await containerOf(attempt.id);
      expect(infos.map((c) => c.Id)).toEqual([before[i]!.containerId]);
      expect(infos[0]!.State.Running).toBe(true);
      expect(infos[0]!.State.StartedAt).toBe(before[i]!.startedAt);
      // The same deadline, the same shell (its variables and directory), the screen repainted.
      const view = (await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt;
      expect(view).toMatchObject({ state: 'running', sandbox: 'running', deadline: attempt.deadline });
      expect(stripAnsi(after[i]!.repaint!)).toContain(`before-${i}-2`);
    }
    // The printing loop went on: its output reaches the new connection.
    await after[0]!.waitFor(() => ticks(after[0]!.text).some((t) => t > lastSeen), 10_000);
    // Ctrl-C can land between two commands of the loop, where bash lets the loop go on (as on any terminal):
    // press it until the prompt is back.
    for (let i = 0; i < 30 && !/# $/.test(stripAnsi(after[0]!.text)); i++) {
      after[0]!.type('\x03');
      await new Promise((r) => setTimeout(r, 300));
    }
    for (let i = 0; i < LIVE; i++) {
      after[i]!.type(`echo "$MARK in $(pwd)"\r`);
      await after[i]!.waitFor(`kept-${i}-42 in /tmp`);
    }

    // Recordings: everything up to the last flush before the crash is there, then the adoption.
    let lostMs = 0;
    for (let i = 0; i < LIVE; i++) {
      const { attempt, token } = started[i]!;
      const cast = parseAsciicast((await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording`, token)).text);
      const markers = cast.events.filter((e) => e[1] === 'm').map((e) => e[2]);
      expect(markers).toEqual(expect.arrayContaining(['started', 'adopted']));
      const adopted = cast.events.findIndex((e) => e[1] === 'm' && e[2] === 'adopted');
      const beforeCrash = cast.events.slice(0, adopted);
      expect(beforeCrash.filter((e) => e[1] === 'o').map((e) => e[2]).join('')).toContain(`before-${i}-2`);
      if (i === 0) {
        const recorded = ticks(beforeCrash.filter((e) => e[1] === 'o').map((e) => e[2]).join(''));
        const lastRecorded = Math.max(...recorded);
        // Every tick is there, in order, up to the last one flushed.
        expect(recorded).toEqual(Array.from({ length: recorded.length }, (_, k) => recorded[0]! + k));
        // A flush runs every 250 ms: at most about a second of output (20 ticks) may be lost.
        expect(lastSeen - lastRecorded).toBeLessThanOrEqual(20);
        lostMs = (lastSeen - lastRecorded) * 50;
        const view = (await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt;
        const newest = Date.parse(view.startedAt) + beforeCrash.at(-1)![0] * 1000;
        figure(ITEM, 'recording: age of its newest event at kill -9', Math.max(0, killedAt - newest), 'ms');
      }
    }
    for (const t of after) t.close();

    figure(ITEM, `restart after kill -9 until /api/health (boot reconcile, ${LIVE} attempts)`, healthMs, 'ms');
    figure(ITEM, `restart until all ${LIVE} terminals repainted`, reconnectMs, 'ms');
    figure(ITEM, 'output lost at kill -9 (printing every 50 ms)', lostMs, 'ms');
    figure(ITEM, 'containers replaced or restarted', 0);
  }, 120_000);

  it('a crash in the middle of provisioning leaves no container after one reconcile pass', async () => {
    const instance = server.instance();
    const pending = fetch(`${server.url}/api/attempts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ exerciseId: 'slow-setup' }),
    }).catch((err: Error) => err);
    // Wait until the sandbox exists and its setup runs, then crash.
    let containerId: string | null = null;
    for (let i = 0; i < 300 && !containerId; i++) {
      const list = await docker.listContainers({
        filters: { label: [`opslab.instance=${instance}`, 'opslab.exercise=slow-setup'] },
      });
      for (const c of list) {
        // Through the archive API: present once the setup script runs.
        const found = await docker
          .getContainer(c.Id)
          .infoArchive({ path: '/root/setup-started' })
          .then(() => true)
          .catch(() => false);
        if (found) containerId = c.Id;
      }
      if (!containerId) await new Promise((r) => setTimeout(r, 100));
    }
    expect(containerId).not.toBeNull();
    const [row] = server.query<{ id: string; state: string }>(
      "SELECT id, state FROM attempts WHERE exercise_id = 'slow-setup'",
    );
    expect(row).toMatchObject({ state: 'created' });
    await server.stop('SIGKILL');
    expect(await pending).toBeInstanceOf(Error);

    const restartAt = Date.now();
    await server.start();
    const reconcileMs = Date.now() - restartAt;
    // The boot reconcile ran before the server answered: the attempt failed, its container is gone.
    const left = await docker.listContainers({ all: true, filters: { label: [`opslab.attempt=${row!.id}`] } });
    expect(left).toEqual([]);
    const [after] = server.query<{ state: string; failure: string }>('SELECT state, failure FROM attempts WHERE id = ?', row!.id);
    expect(after).toMatchObject({ state: 'failed', failure: 'provisioning was interrupted' });
    const all = await docker.listContainers({ all: true, filters: { label: [`opslab.instance=${instance}`] } });
    figure(ITEM, 'crash mid-provisioning: restart until reconciled', reconcileMs, 'ms');
    figure(ITEM, 'crash mid-provisioning: orphan containers left', left.length);
    figure(ITEM, 'containers of the installation after it (other attempts)', all.length);
  }, 120_000);
});
