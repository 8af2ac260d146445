// Item 16, lifecycle races: a submit racing a shell restart or a terminal reconnect never reopens the ended
// attempt: no 5xx, the sandbox is removed, and nothing is recorded for the attempt after its end.
import { describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { api, startAttempt } from '../helpers/api.js';
import { docker } from '../helpers/docker.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { shellRun } from '../helpers/sandbox-probe.js';
import { TestTerminal } from '../helpers/terminal-client.js';

const ITEM = '16 lifecycle races';
const ROUNDS = 3;

describe(`security 16: lifecycle races (${SANDBOX_RUNTIME})`, () => {
  const server = useTestServer();

  /** The recording's events after the end marker: none may come from a reopened terminal. */
  const afterEnd = async (attemptId: string, token: string) => {
    const cast = parseAsciicast((await api(server.url, 'GET', `/api/attempts/${attemptId}/recording`, token)).text);
    const end = cast.events.findIndex((e) => e[1] === 'm' && e[2] === 'submitted');
    expect(end, 'the submitted marker').toBeGreaterThanOrEqual(0);
    return cast.events.slice(end + 1).filter((e) => e[1] === 'm' || e[1] === 'o');
  };

  const gone = async (attemptId: string) => {
    const sandboxId = (await server.services.attempts.get(attemptId))!.sandboxId!;
    await expect(docker.getContainer(sandboxId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  };

  it('submit racing restart-shell: no 5xx, no shell restarted after the end, the sandbox removed', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { attempt, token } = await startAttempt(server.url);
      const term = await TestTerminal.connect(server.url, attempt.id, token);
      await shellRun(term, 'true');
      term.type('exit\r');
      await term.waitFor(() => term.controls.some((c) => c.type === 'shell-exited'), 30_000);
      term.close();
      const restart = () => api(server.url, 'POST', `/api/attempts/${attempt.id}/restart-shell`, token);
      const submit = () => api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
      // Restart first, submit first, and both at once.
      const [a, b] =
        round === 0
          ? await Promise.all([restart(), new Promise((r) => setTimeout(r, 20)).then(submit)])
          : round === 1
            ? await Promise.all([submit(), new Promise((r) => setTimeout(r, 20)).then(restart)])
            : await Promise.all([restart(), submit()]);
      const [restarted, submitted] = round === 1 ? [b, a] : [a, b];
      statuses.push(restarted.status);
      expect(submitted.status).toBe(200);
      expect([200, 409, 410], restarted.text).toContain(restarted.status);
      expect((await server.services.attempts.get(attempt.id))!.state).toBe('archived');
      await gone(attempt.id);
      expect((await afterEnd(attempt.id, token)).filter((e) => e[1] === 'm' && e[2] === 'shell-restarted')).toEqual([]);
    }
    figure(ITEM, `restart-shell racing submit (${ROUNDS} rounds): answers`, statuses.join(' '));
  }, 240_000);

  it('submit racing a terminal reconnect: the socket is refused or closed as ended, nothing recorded after', async () => {
    const codes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { attempt, token } = await startAttempt(server.url);
      const first = await TestTerminal.connect(server.url, attempt.id, token);
      await shellRun(first, 'true');
      first.close();
      const reconnect = TestTerminal.connect(server.url, attempt.id, token).then(
        async (t) => `closed ${(await t.closed).code}`,
        (err: Error) => `refused ${err.message.slice(0, 40)}`,
      );
      const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
      expect(submitted.status).toBe(200);
      codes.push(await reconnect);
      expect((await server.services.attempts.get(attempt.id))!.state).toBe('archived');
      await gone(attempt.id);
      const late = (await afterEnd(attempt.id, token)).filter((e) => e[1] === 'm');
      expect(late.map((e) => e[2])).toEqual(expect.not.arrayContaining(['adopted', 'reconnected']));
      // Once ended, a reconnect is refused before the upgrade.
      await expect(TestTerminal.connect(server.url, attempt.id, token)).rejects.toThrow();
    }
    figure(ITEM, `reconnect racing submit (${ROUNDS} rounds)`, codes.map((c) => c.split(' ')[0]).join(' '));
  }, 240_000);
});
