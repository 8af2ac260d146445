import { describe, expect, it } from 'vitest';
import { MAX_TERMINALS } from '../../contract/terminal.js';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { docker } from '../helpers/docker.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';

const PROMPT = /root@sandbox[^#]*# $/;
const atPrompt = (t: TestTerminal, from = 0) => () => PROMPT.test(stripAnsi(t.text.slice(Math.max(0, from))));

const socketUrl = (base: string, id: string, n?: number | string) =>
  `${base}/api/attempts/${id}/terminal${n === undefined ? '' : `?terminal=${n}`}`;
const open = (base: string, id: string, token: string, n?: number) =>
  TestTerminal.open(socketUrl(base, id, n), { authorization: `Bearer ${token}` });

/** The commands of one recording's input: what was typed, as one string. */
const typed = (cast: string) =>
  parseAsciicast(cast)
    .events.filter((e) => e[1] === 'i')
    .map((e) => e[2])
    .join('');

/** `bash -l` processes of a sandbox, as the engine lists them. */
async function loginShells(sandboxId: string): Promise<number> {
  const top = await docker.getContainer(sandboxId).top({ ps_args: '-eo pid,args' });
  return top.Processes.filter((p: string[]) => /^bash -l$/.test(p.at(-1) ?? '')).length;
}

describe('a second terminal in the same sandbox (real Docker engine)', () => {
  const server = useTestServer();

  it('runs commands independently of the first, shares its files, records its own commands, and closes at submit', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const one = await open(server.url, attempt.id, token);
    const two = await open(server.url, attempt.id, token, 2);
    await one.waitFor(atPrompt(one));
    await two.waitFor(atPrompt(two));
    expect(two.controls[0]).toMatchObject({ type: 'hello', terminal: 2, attempt: { id: attempt.id } });
    // Both connections stay open: a second terminal does not replace the first.
    expect(one.ws.readyState).toBe(one.ws.OPEN);

    // Terminal 1 is busy with a foreground command while terminal 2 works (the bound is generous for a loaded
    // machine, and still well inside terminal 1's sleep).
    one.type('sleep 8; echo one-done-$((40+2))\r');
    const started = Date.now();
    two.type('echo from-two > /root/shared.txt; echo two-$((3*3))\r');
    await two.waitFor('two-9');
    const twoMs = Date.now() - started;
    expect(twoMs).toBeLessThan(6000);
    expect(stripAnsi(one.text)).not.toContain('two-9');
    await one.waitFor('one-done-42');
    const mark = one.text.length;
    await one.waitFor(atPrompt(one, mark - 200));
    one.type('cat /root/shared.txt | tr a-z A-Z\r');
    await one.waitFor('FROM-TWO');
    await two.waitFor(atPrompt(two, two.text.length - 200));
    two.type('echo $$ $OPSLAB_TERMINAL $(id -u) $(tty)\r');
    await two.waitFor(/\d+ 2 0 \/dev\/pts\/\d+/);
    console.log(`[figure] second terminal: a command answered in ${twoMs} ms while the first ran an 8 s command`);

    // The shells differ (two processes), and each recording has its own commands.
    const rec1 = await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording`, token);
    const rec2 = await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording?terminal=2`, token);
    expect(rec2.status).toBe(200);
    expect(rec2.headers.get('content-disposition')).toContain(`${attempt.id}.t2.cast`);
    expect(typed(rec1.text)).toContain('cat /root/shared.txt');
    expect(typed(rec1.text)).not.toContain('echo from-two');
    expect(typed(rec2.text)).toContain('echo from-two');
    expect(typed(rec2.text)).not.toContain('cat /root/shared.txt');
    expect(parseAsciicast(rec2.text).events.find((e) => e[1] === 'm')?.[2]).toBe('started');

    // The command timeline holds both, those of terminal 2 tagged.
    const staff = await staffSession(server, 'interviewer');
    const timeline = await api(server.url, 'GET', `/api/manage/attempts/${attempt.id}/commands`, undefined);
    expect(timeline.status).toBe(401);
    const res = await fetch(`${server.url}/api/manage/attempts/${attempt.id}/commands`, { headers: staff.headers });
    const { commands } = (await res.json()) as { commands: { command: string; terminal?: number }[] };
    const shared = commands.find((c) => c.command.startsWith('echo from-two'));
    const cat = commands.find((c) => c.command.startsWith('cat /root/shared.txt'));
    expect(shared?.terminal).toBe(2);
    expect(cat).toBeDefined();
    expect(cat!.terminal).toBeUndefined();
    expect(commands.indexOf(shared!)).toBeLessThan(commands.indexOf(cat!));

    // Submitting closes both terminals like the first, each recording marked.
    const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(submitted.status).toBe(200);
    const [c1, c2] = await Promise.all([one.closed, two.closed]);
    expect(c1.code).toBe(4410);
    expect(c2.code).toBe(4410);
    expect(c2.reason).toMatch(/submitted/i);
    const after = await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording?terminal=2`, token);
    expect(parseAsciicast(after.text).events.at(-1)?.slice(1)).toEqual(['m', 'submitted']);
    expect(await TestTerminal.refusedStatus(socketUrl(server.url, attempt.id, 2), { authorization: `Bearer ${token}` })).toBe(410);
  });

  it('repaints the second terminal on reconnect, with the same shell', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const first = await open(server.url, attempt.id, token, 2);
    await first.waitFor(atPrompt(first));
    first.type('export KEEP=kept-$((5*5)); echo before-$((20+3))-reload\r');
    await first.waitFor('before-23-reload');
    await first.waitFor(atPrompt(first, first.text.length - 200));
    first.close();
    await first.closed;
    const again = await open(server.url, attempt.id, token, 2);
    await again.waitFor(() => again.repaint !== null);
    expect(stripAnsi(again.repaint!)).toContain('before-23-reload');
    // The same shell: its variable is still set.
    again.type('echo $KEEP\r');
    await again.waitFor('kept-25');
    // A newer window of terminal 2 replaces the older one of terminal 2 only.
    const one = await open(server.url, attempt.id, token);
    const newer = await open(server.url, attempt.id, token, 2);
    expect((await again.closed).code).toBe(4000);
    expect(one.ws.readyState).toBe(one.ws.OPEN);
    newer.close();
    one.close();
  });

  it('refuses another attempt\'s token, a third terminal and bad terminal ids with a clear error', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const other = await startAttempt(server.url);
    expect(
      await TestTerminal.refusedStatus(socketUrl(server.url, attempt.id, 2), { authorization: `Bearer ${other.token}` }),
    ).toBe(404);
    expect(
      await TestTerminal.refusedStatus(socketUrl(server.url, attempt.id, 2), {
        authorization: `Bearer ${token}`,
        origin: 'https://evil.example.com',
      }),
    ).toBe(403);
    expect(await TestTerminal.refusedStatus(socketUrl(server.url, attempt.id, 2), {})).toBe(401);
    const third = await api(server.url, 'GET', `/api/attempts/${attempt.id}/terminal?terminal=${MAX_TERMINALS + 1}`, token);
    expect(third.status).toBe(400);
    expect(third.body.error.message).toBe(`An attempt has at most ${MAX_TERMINALS} terminals.`);
    expect(await TestTerminal.refusedStatus(socketUrl(server.url, attempt.id, 3), { authorization: `Bearer ${token}` })).toBe(400);
    for (const bad of ['0', '-1', '02', '1.5', 'two', '%00', '99999999999999999999']) {
      const res = await api(server.url, 'GET', `/api/attempts/${attempt.id}/terminal?terminal=${bad}`, token);
      expect(res.status, bad).toBe(400);
    }
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording?terminal=3`, token)).status).toBe(400);
    // No second shell was started by any of these.
    expect(await loginShells((await server.services.attempts.get(attempt.id))!.sandboxId!)).toBe(1);
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording?terminal=2`, token)).status).toBe(404);
  });

  it('starts a new shell after the second one exited or its server let go of it, hanging up the one left behind', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const sandboxId = (await server.services.attempts.get(attempt.id))!.sandboxId!;
    const two = await open(server.url, attempt.id, token, 2);
    await two.waitFor(atPrompt(two));
    two.type('echo kept > /root/kept2.txt; exit\r');
    await two.waitFor(() => two.controls.some((c) => c.type === 'shell-exited'));
    // The attempt and its first shell are untouched.
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt).toMatchObject({ state: 'running', sandbox: 'running' });
    two.close();
    const again = await open(server.url, attempt.id, token, 2);
    await again.waitFor(atPrompt(again, again.text.length - 200));
    again.type('cat /root/kept2.txt | tr a-z A-Z\r');
    await again.waitFor('KEPT');
    expect(await loginShells(sandboxId)).toBe(2);

    // A server shutting down lets go of every terminal; the engine keeps the exec'd shell, which the next
    // connection hangs up before starting its own.
    again.close();
    const registry = (server.services.attempts as unknown as { ctx: { terminals: { closeAll(r: { code: number; text: string }): void } } }).ctx.terminals;
    registry.closeAll({ code: 1012, text: 'restarting' });
    expect(await loginShells(sandboxId)).toBe(2);
    const third = await open(server.url, attempt.id, token, 2);
    await third.waitFor(atPrompt(third, third.text.length - 200));
    third.type('echo fresh-$((6*6))\r');
    await third.waitFor('fresh-36');
    expect(await loginShells(sandboxId)).toBe(2);
    const cast = (await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording?terminal=2`, token)).text;
    const markers = parseAsciicast(cast)
      .events.filter((e) => e[1] === 'm' && e[2] !== 'reconnected')
      .map((e) => e[2]);
    expect(markers).toEqual(['started', 'shell-exited', 'shell-restarted', 'shell-restarted']);
    third.close();
  });

  it('closes both terminals of the candidate when their credential is withdrawn (a reissued link), not the live views', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const staff = await staffSession(server, 'interviewer');
    const one = await open(server.url, attempt.id, token);
    const two = await open(server.url, attempt.id, token, 2);
    await two.waitFor(atPrompt(two));
    const watcher = await TestTerminal.open(`${server.url}/api/manage/attempts/${attempt.id}/live?terminal=2`, { ...staff.headers, origin: server.url });
    await watcher.waitFor(() => watcher.repaint !== null);
    await server.services.attempts.replaceToken(attempt.id, 'f'.repeat(64), { kind: 'link-reissued', detail: {} });
    const [c1, c2] = await Promise.all([one.closed, two.closed]);
    expect([c1.code, c2.code]).toEqual([4001, 4001]);
    expect(watcher.ws.readyState).toBe(watcher.ws.OPEN);
    expect(await TestTerminal.refusedStatus(socketUrl(server.url, attempt.id, 2), { authorization: `Bearer ${token}` })).toBe(404);
    watcher.close();
  });

  it('lets staff watch the second terminal read-only, without starting a shell for it', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const staff = await staffSession(server, 'interviewer');
    const live = (n: number) => `${server.url}/api/manage/attempts/${attempt.id}/live?terminal=${n}`;
    const before = await TestTerminal.open(live(2), { ...staff.headers, origin: server.url });
    await before.waitFor(() => before.controls.some((c) => c.type === 'shell-exited'));
    expect(await loginShells((await server.services.attempts.get(attempt.id))!.sandboxId!)).toBe(1);
    before.close();
    const two = await open(server.url, attempt.id, token, 2);
    await two.waitFor(atPrompt(two));
    const watcher = await TestTerminal.open(live(2), { ...staff.headers, origin: server.url });
    await watcher.waitFor(() => watcher.repaint !== null);
    two.type('echo watched-$((7*7))\r');
    await watcher.waitFor('watched-49');
    watcher.type('echo typed-by-staff\r');
    await new Promise((r) => setTimeout(r, 300));
    expect(two.text).not.toContain('typed-by-staff');
    expect(watcher.controls.some((c) => c.type === 'notice' && c.code === 'read_only')).toBe(true);
    expect(await TestTerminal.refusedStatus(live(3), { ...staff.headers, origin: server.url })).toBe(400);
    watcher.close();
    two.close();
  });
});
