// The command timeline of a real attempt: a shell-warmup sandbox from the base image, commands typed over the
// terminal WebSocket, the recording read back after submit. The marks the shell sends must never show on screen.
import fs from 'node:fs';
import xtermHeadless from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { parseCommands } from '../../server/src/review/commands.js';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { useTestServer } from '../helpers/server.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';

const { Terminal } = xtermHeadless;

const MARKED_PROMPT = /root@sandbox[^#]*# $/;
const PLAIN_PROMPT = /bash-[\d.]+# $/;

/** Types a line and waits until the shell prompts again (a prompt after everything printed since). */
async function run(term: TestTerminal, keys: string, prompt = MARKED_PROMPT, timeoutMs = 15_000): Promise<void> {
  const from = term.text.length;
  term.type(keys);
  await term.waitFor(() => prompt.test(stripAnsi(term.text.slice(from))), timeoutMs);
}

/** The screen (scrollback included) a terminal shows for this output, as plain lines. */
async function render(output: string): Promise<string[]> {
  const screen = new Terminal({ cols: 80, rows: 24, scrollback: 1000, allowProposedApi: true });
  await new Promise<void>((resolve) => screen.write(output, resolve));
  const lines: string[] = [];
  for (let y = 0; y < screen.buffer.active.length; y++) {
    lines.push(screen.buffer.active.getLine(y)?.translateToString(true) ?? '');
  }
  screen.dispose();
  return lines;
}

describe('command timeline of a real attempt (real Docker engine)', () => {
  const server = useTestServer();

  it('reads the commands typed in a sandbox from its recording; the marks stay invisible', async () => {
    const { attempt, token } = await startAttempt(server.url, 'shell-warmup');
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(() => MARKED_PROMPT.test(stripAnsi(term.text)));

    await run(term, 'echo hello-$((40+2))\r');
    await run(term, '(exit 3)\r');
    await run(term, 'sleep 1\r');
    await run(term, `printf '%s|%s\\n' 'a;b' 'back\\slash'\r`);
    await run(term, 'echo "multi\rline"\r');
    await run(term, '\x1b[200~echo pasted-1\recho pasted-2\r\x1b[201~\r');
    await run(term, '\r'); // an empty line: no command
    await run(term, 'exec bash --norc\r', PLAIN_PROMPT);
    await run(term, 'echo unmarked-$((2+3))\r', PLAIN_PROMPT);
    await term.waitFor('unmarked-5');

    // What a browser shows: the output, the prompts, and nothing of the marks.
    const screen = (await render(term.text)).join('\n');
    expect(screen).toContain('hello-42');
    expect(screen).toContain('a;b|back\\slash');
    expect(screen).toContain('pasted-2');
    expect(screen).not.toMatch(/133;|633;|aid=|__opslab|\$\{/);
    // And what the server's screen mirror repaints on a reconnection.
    const viewer = await TestTerminal.connect(server.url, attempt.id, token);
    await viewer.waitFor(() => viewer.repaint !== null);
    const repaint = (await render(viewer.repaint!)).join('\n');
    expect(repaint).toContain('unmarked-5');
    expect(repaint).not.toMatch(/133;|633;|aid=|__opslab/);
    viewer.close();
    term.close();

    expect((await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token)).status).toBe(200);
    const file = server.services.attempts.recordingFile((await server.services.attempts.get(attempt.id))!);
    const text = fs.readFileSync(file, 'utf8');
    const { events } = parseAsciicast(text);
    const timeline = parseCommands(text);

    expect(timeline.source).toBe('mixed');
    expect(timeline.commands.map((c) => [c.command, c.exitCode, c.source])).toEqual([
      ['echo hello-$((40+2))', 0, 'shell'],
      ['(exit 3)', 3, 'shell'],
      ['sleep 1', 0, 'shell'],
      [`printf '%s|%s\\n' 'a;b' 'back\\slash'`, 0, 'shell'],
      ['echo "multi\nline"', 0, 'shell'],
      ['echo pasted-1', 0, 'shell'],
      ['echo pasted-2', 0, 'shell'],
      ['exec bash --norc', null, 'shell'],
      ['echo unmarked-$((2+3))', null, 'input'],
    ]);
    // Durations come from the recording's clock (when the server read the marks), so only their order is sure:
    // the second of `sleep 1` is the longest.
    const marked = timeline.commands.slice(0, 7);
    for (const c of marked) expect(c.durationMs, c.command).not.toBeNull();
    const longest = marked.reduce((a, b) => (b.durationMs! > a.durationMs! ? b : a));
    expect(longest.command).toBe('sleep 1');
    expect(timeline.commands[7]!.durationMs).toBeNull();

    // Each command starts after the keystrokes that ran it, in order, within the recording (the recording's
    // clock counts milliseconds: two events may share one).
    const lastEvent = events[events.length - 1]![0];
    let previous = 0;
    for (const c of timeline.commands) {
      expect(c.startedAt, c.command).toBeGreaterThanOrEqual(previous);
      expect(c.startedAt, c.command).toBeLessThanOrEqual(lastEvent);
      previous = c.startedAt;
    }
    expect(timeline.commands[0]!.startedAt).toBeGreaterThan(0);
    const typedAt = (needle: string) => events.find((e) => e[1] === 'i' && e[2].includes(needle))![0];
    expect(timeline.commands[0]!.startedAt).toBeGreaterThanOrEqual(typedAt('hello'));
    expect(timeline.commands[2]!.startedAt).toBeGreaterThanOrEqual(typedAt('sleep 1'));
    expect(timeline.commands[8]!.startedAt).toBe(typedAt('unmarked'));
  }, 120_000);
});
