// The command timeline read from synthetic recordings: marks as the sandbox shells send them, split sequences,
// pasted lines, nested and replaced shells, the keystroke fallback, and hostile recordings.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_MAX_CHARS, decodeCommandLine, startsShell } from '../../server/src/review/command-line.js';
import { parseCommands } from '../../server/src/review/commands.js';
import { MARKERS, truncationMarker } from '../../server/src/terminal/recorder.js';
import { repoRoot } from '../../server/src/paths.js';

type Ev = [number, 'o' | 'i' | 'm' | 'r', string];

const HEADER = JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1700000000, env: { TERM: 'xterm-256color' } });
const castOf = (events: Ev[]) => [HEADER, ...events.map((e) => JSON.stringify(e))].join('\n') + '\n';

const osc = (body: string) => `\x1b]${body}\x07`;
const PROMPT = 'root@sandbox:~# ';
/** What the sandbox shell prints: prompt start, the prompt, prompt end. */
const prompt = (aid = '7') => `${osc(`133;A;aid=${aid}`)}${PROMPT}${osc('133;B')}`;
const C = (aid = '7') => osc(`133;C;aid=${aid}`);
const D = (status: number, aid = '7') => osc(`133;D;${status};aid=${aid}`);
/** VS Code's escaping, as the shell does it. */
const E = (line: string) =>
  osc(
    `633;E;${line
      .replace(/\\/g, '\\\\')
      .replace(/;/g, '\\x3b')
      .replace(/[\x00-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`,
  );

/** One command as a marked shell records it: typed at t, started (C + E) at t+0.1, finished after `ms`. */
function marked(t: number, line: string, status: number, ms: number, output = '', aid = '7'): Ev[] {
  const start = t + 0.1;
  return [
    [t, 'i', `${line}\r`],
    [start, 'o', `${line}\r\n${C(aid)}${E(line)}${output}`],
    [start + ms / 1000, 'o', `${D(status, aid)}${prompt(aid)}`],
  ];
}

describe('parseCommands: marks', () => {
  it('reads each command line, its start, duration and exit status', () => {
    const cast = castOf([
      [0.2, 'o', prompt()],
      ...marked(1, 'ls -la /etc', 0, 40, 'total 0\r\n'),
      ...marked(3, 'grep -q nope /etc/hosts', 1, 25),
      ...marked(5, 'sleep 2', 0, 2000),
    ]);
    expect(parseCommands(cast)).toEqual({
      source: 'shell',
      commands: [
        { command: 'ls -la /etc', startedAt: 1.1, durationMs: 40, exitCode: 0, source: 'shell' },
        { command: 'grep -q nope /etc/hosts', startedAt: 3.1, durationMs: 25, exitCode: 1, source: 'shell' },
        { command: 'sleep 2', startedAt: 5.1, durationMs: 2000, exitCode: 0, source: 'shell' },
      ],
    });
  });

  it('decodes the escaped command line: backslashes, semicolons, newlines and other control characters', () => {
    const line = 'printf "a;b\\\\c\\n" ; echo "two\nlines"\tx';
    const cast = castOf([[0.1, 'o', prompt()], ...marked(1, line, 0, 5)]);
    expect(parseCommands(cast).commands.map((c) => c.command)).toEqual([line]);
    expect(decodeCommandLine('a\\x3bb\\\\x41\\x0a\\q\\')).toBe('a;b\\x41\n\\q\\');
  });

  it('takes an E sent before its C, as VS Code does, and ST-terminated sequences', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'o', `${E('make test')}\x1b]133;C\x1b\\ok\r\n`],
      [2, 'o', `\x1b]133;D;2\x1b\\${prompt()}`],
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'make test', startedAt: 1, durationMs: 1000, exitCode: 2, source: 'shell' },
    ]);
  });

  it('joins marks split across output events, whatever the split point', () => {
    const stream = `${prompt()}${C()}${E('echo split;here')}out\r\n${D(4)}${prompt()}`;
    for (let cut = 1; cut < stream.length; cut++) {
      for (const cut2 of [cut + 1, cut + 7]) {
        if (cut2 >= stream.length) continue;
        const cast = castOf([
          [1, 'o', stream.slice(0, cut)],
          [1.5, 'o', stream.slice(cut, cut2)],
          [2, 'o', stream.slice(cut2)],
        ]);
        const { commands } = parseCommands(cast);
        expect(commands, `cut at ${cut}/${cut2}`).toHaveLength(1);
        expect(commands[0]).toMatchObject({ command: 'echo split;here', exitCode: 4 });
      }
    }
  });

  it('gives no entry for empty lines, Ctrl-C at the prompt, or marks without a command line', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'i', '\r'],
      [1.1, 'o', `\r\n${prompt()}`],
      [2, 'i', 'half typed\x03'],
      [2.1, 'o', `^C\r\n${prompt()}`],
      // A C nothing names (no E, nothing typed), and a D with no command open.
      [3, 'o', `${C()}${D(0)}${prompt()}${D(1)}`],
    ]);
    expect(parseCommands(cast)).toEqual({ source: 'none', commands: [] });
  });

  it('ignores other OSC sequences and a mark-like text that is not an escape sequence', () => {
    const cast = castOf([
      [0.1, 'o', `${osc('0;window title')}${osc('7;file://sandbox/root')}133;C 633;E;fake${prompt()}`],
      ...marked(1, 'true', 0, 1),
    ]);
    expect(parseCommands(cast).commands.map((c) => c.command)).toEqual(['true']);
  });

  it('assigns the marks of several pasted lines in order: D from the next PS0, late E at the prompt', () => {
    // What bash sends for three lines pasted at once: C1 E1 D1 C2 D2 C3, then at the prompt E2 E3 D3.
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'i', '\x1b[200~echo p1\r(exit 4)\recho p3\r\x1b[201~'],
      [1.2, 'o', `echo p1\r\n(exit 4)\r\necho p3\r\n${C()}${E('echo p1')}p1\r\n`],
      [1.25, 'o', `${D(0)}${C()}${D(4)}${C()}p3\r\n`],
      [1.3, 'o', `${E('(exit 4)')}${E('echo p3')}${D(0)}${prompt()}`],
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'echo p1', startedAt: 1.2, durationMs: 50, exitCode: 0, source: 'shell' },
      { command: '(exit 4)', startedAt: 1.25, durationMs: 0, exitCode: 4, source: 'shell' },
      { command: 'echo p3', startedAt: 1.25, durationMs: 50, exitCode: 0, source: 'shell' },
    ]);
  });

  it('takes an E that comes only when the command finished (a line that is only a subshell)', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'o', `${C()}`],
      [4, 'o', `${E('(cd /tmp && sleep 3)')}${D(0)}${prompt()}`],
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: '(cd /tmp && sleep 3)', startedAt: 1, durationMs: 3000, exitCode: 0, source: 'shell' },
    ]);
  });

  it('uses the line typed at the prompt when no E comes, Ctrl-U, backspace and arrow keys applied', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'i', 'rm -rf /\x15ls -l /tmx'],
      [1.5, 'i', '\x7fp\x1b[D\x1b[C'],
      [2, 'i', '\r'],
      [2.1, 'o', `ls -l /tmp\r\n${C()}total 0\r\n${D(0)}${prompt()}`],
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'ls -l /tmp', startedAt: 2.1, durationMs: 0, exitCode: 0, source: 'shell' },
    ]);
  });

  it('tells nested shells apart by aid: the inner exit does not take the outer status', () => {
    const cast = castOf([
      [0.1, 'o', prompt('7')],
      ...marked(1, 'bash', 0, 0).slice(0, 2), // C(bash) E(bash), no D yet
      [1.3, 'o', prompt('42')],
      ...marked(2, 'echo inner', 0, 10, 'inner\r\n', '42'),
      [3, 'i', 'exit 7\r'],
      [3.1, 'o', `exit 7\r\n${C('42')}${E('exit 7')}exit\r\n`],
      [3.2, 'o', `${D(7, '7')}${prompt('7')}`],
      ...marked(4, 'echo outer', 0, 10, 'outer\r\n', '7'),
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'bash', startedAt: 1.1, durationMs: 2100, exitCode: 7, source: 'shell' },
      { command: 'echo inner', startedAt: 2.1, durationMs: 10, exitCode: 0, source: 'shell' },
      { command: 'exit 7', startedAt: 3.1, durationMs: null, exitCode: null, source: 'shell' },
      { command: 'echo outer', startedAt: 4.1, durationMs: 10, exitCode: 0, source: 'shell' },
    ]);
  });

  it('ends an `exit` at once, and takes its status when the shell stays after all', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'o', `${C()}${E('logout')}bash: logout: not login shell: use \`exit'\r\n${D(1)}${prompt()}`],
      ...marked(2, 'exit', 0, 0).slice(0, 2),
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'logout', startedAt: 1, durationMs: null, exitCode: 1, source: 'shell' },
      { command: 'exit', startedAt: 2.1, durationMs: null, exitCode: null, source: 'shell' },
    ]);
  });

  it("gives a shell's D to that shell's command, closing what a killed nested shell left running", () => {
    const cast = castOf([
      [0.1, 'o', prompt('7')],
      [1, 'o', `${C('7')}${E('bash')}${prompt('42')}`],
      [2, 'o', `${C('42')}${E('sleep 100')}`],
      [3, 'o', `Killed\r\n${D(137, '7')}${prompt('7')}`],
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'bash', startedAt: 1, durationMs: 2000, exitCode: 137, source: 'shell' },
      { command: 'sleep 100', startedAt: 2, durationMs: null, exitCode: null, source: 'shell' },
    ]);
  });

  it('closes a command at the next prompt when its D is missing, and takes the late status (PROMPT_COMMAND unset)', () => {
    // Without PROMPT_COMMAND the shell still prompts (A, B) and starts commands (C), and sends the D of the
    // previous command only when the next one starts.
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'i', 'false\r'],
      [1.1, 'o', `false\r\n${C()}`],
      [1.2, 'o', prompt()],
      [5, 'i', 'echo next\r'],
      [5.1, 'o', `echo next\r\n${D(1)}${C()}next\r\n`],
      [5.2, 'o', prompt()],
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'false', startedAt: 1.1, durationMs: 100, exitCode: 1, source: 'shell' },
      { command: 'echo next', startedAt: 5.1, durationMs: 100, exitCode: null, source: 'shell' },
    ]);
  });

  it('closes the commands a shell was running when it exits or the sandbox is reset', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      ...marked(1, 'tail -f /var/log/app.log', 0, 0).slice(0, 2),
      [5, 'm', MARKERS.shellExited],
      [6, 'm', MARKERS.shellRestarted],
      [6.1, 'o', prompt('9')],
      ...marked(7, 'echo again', 0, 3, '', '9'),
      [9, 'o', `${C('9')}${E('sleep 100')}`],
      [10, 'm', MARKERS.reset],
      [10.2, 'o', prompt('9')],
      ...marked(11, 'echo fresh', 0, 3, '', '9'),
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'tail -f /var/log/app.log', startedAt: 1.1, durationMs: null, exitCode: null, source: 'shell' },
      { command: 'echo again', startedAt: 7.1, durationMs: 3, exitCode: 0, source: 'shell' },
      { command: 'sleep 100', startedAt: 9, durationMs: null, exitCode: null, source: 'shell' },
      { command: 'echo fresh', startedAt: 11.1, durationMs: 3, exitCode: 0, source: 'shell' },
    ]);
  });

  it('does not count keystrokes sent to a program (an editor) as commands', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      ...marked(1, 'vim notes.txt', 0, 0).slice(0, 2),
      [2, 'i', 'ihello\r'],
      [3, 'i', 'world\x1b:wq\r'],
      [3.5, 'o', `${D(0)}${prompt()}`],
    ]);
    expect(parseCommands(cast).commands.map((c) => c.command)).toEqual(['vim notes.txt']);
  });
});

describe('parseCommands: keystrokes where the shell does not mark', () => {
  it('rebuilds lines from a recording without marks: editing keys, Ctrl-C, pasted lines, split escapes', () => {
    const cast = castOf([
      [0.1, 'o', '$ '],
      [1, 'i', 'ech'],
      [1.2, 'i', 'o helo\x7flo\r'], // backspace
      [2, 'i', 'rm -rf /tmp/x\x03'], // Ctrl-C abandons the line
      [2.5, 'i', 'git statsu\x7f\x7fus\x1b'],
      [2.6, 'i', '[A\r'], // an arrow key split across events is dropped
      [3, 'i', 'cat /etc/os-release /etc/hostname\x17\x17hosts\r'], // Ctrl-W twice
      [4, 'i', '\x1b[200~ls /\r\rdf -h\r\x1b[201~'], // a paste of two lines and an empty one
      [5, 'i', '  \r'],
      [6, 'i', 'uname -a\x1bOA\x1bb\r'], // SS3 arrow, Alt-b
    ]);
    expect(parseCommands(cast)).toEqual({
      source: 'input',
      commands: [
        { command: 'echo hello', startedAt: 1.2, durationMs: null, exitCode: null, source: 'input' },
        { command: 'git status', startedAt: 2.6, durationMs: null, exitCode: null, source: 'input' },
        { command: 'cat hosts', startedAt: 3, durationMs: null, exitCode: null, source: 'input' },
        { command: 'ls /', startedAt: 4, durationMs: null, exitCode: null, source: 'input' },
        { command: 'df -h', startedAt: 4, durationMs: null, exitCode: null, source: 'input' },
        { command: 'uname -a', startedAt: 6, durationMs: null, exitCode: null, source: 'input' },
      ],
    });
  });

  it('falls back to keystrokes after `exec bash --norc` replaced the marked shell', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      ...marked(1, 'echo marked', 0, 5, 'marked\r\n'),
      [2, 'i', 'exec bash --norc\r'],
      [2.1, 'o', `exec bash --norc\r\n${C()}${E('exec bash --norc')}bash-5.2# `],
      [3, 'i', 'echo unmarked\r'],
      [3.1, 'o', 'echo unmarked\r\nunmarked\r\nbash-5.2# '],
      [4, 'i', 'false\r'],
    ]);
    expect(parseCommands(cast)).toEqual({
      source: 'mixed',
      commands: [
        { command: 'echo marked', startedAt: 1.1, durationMs: 5, exitCode: 0, source: 'shell' },
        { command: 'exec bash --norc', startedAt: 2.1, durationMs: null, exitCode: null, source: 'shell' },
        { command: 'echo unmarked', startedAt: 3, durationMs: null, exitCode: null, source: 'input' },
        { command: 'false', startedAt: 4, durationMs: null, exitCode: null, source: 'input' },
      ],
    });
  });

  it('reads the lines typed in `sh` as commands, and the marked shell again once sh exits', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      ...marked(1, 'sh', 0, 0).slice(0, 2),
      [1.2, 'o', '# '],
      [2, 'i', 'ls /srv\r'],
      [3, 'i', 'exit\r'],
      [3.1, 'o', `exit\r\n${D(0)}${prompt()}`],
      ...marked(4, 'pwd', 0, 2, '/root\r\n'),
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'sh', startedAt: 1.1, durationMs: 2000, exitCode: 0, source: 'shell' },
      { command: 'ls /srv', startedAt: 2, durationMs: null, exitCode: null, source: 'input' },
      { command: 'exit', startedAt: 3, durationMs: null, exitCode: null, source: 'input' },
      { command: 'pwd', startedAt: 4.1, durationMs: 2, exitCode: 0, source: 'shell' },
    ]);
  });

  it('does not count a line twice when it was typed before the shell marked its first prompt', () => {
    const cast = castOf([
      [0.05, 'i', 'whoami\r'],
      [0.3, 'o', `${prompt()}whoami\r\n${C()}${E('whoami')}root\r\n${D(0)}${prompt()}`],
    ]);
    expect(parseCommands(cast)).toEqual({
      source: 'shell',
      commands: [{ command: 'whoami', startedAt: 0.3, durationMs: 0, exitCode: 0, source: 'shell' }],
    });
  });

  it('goes back to the unmarked shell when a marked shell started from it exits', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'o', `${C()}${E('exec bash --norc')}`],
      [2, 'i', 'bash\r'],
      [2.5, 'o', prompt('50')],
      ...marked(3, 'id', 0, 4, '', '50'),
      [4, 'i', 'exit\r'],
      [4.1, 'o', `${C('50')}${E('exit')}exit\r\nbash-5.2# `],
      [5, 'i', 'hostname\r'],
    ]);
    expect(parseCommands(cast).commands.map((c) => [c.command, c.source])).toEqual([
      ['exec bash --norc', 'shell'],
      ['bash', 'input'],
      ['id', 'shell'],
      ['exit', 'shell'],
      ['hostname', 'input'],
    ]);
  });

  it('knows which command lines start an interactive shell', () => {
    for (const yes of ['sh', 'bash', 'exec bash --norc', '/bin/bash -l', 'bash --rcfile /x', 'su', 'su - ci', 'sudo -i', 'sudo -u ci bash', 'env FOO=1 bash', 'chroot /srv', 'busybox sh', 'script -q /dev/null']) {
      expect(startsShell(yes), yes).toBe(true);
    }
    for (const no of ['bash run.sh', 'sh -c "make"', 'bash -lc true', 'su -c id ci', 'sudo apt-get update', 'vim', 'python3', 'exec >/tmp/log', 'chroot /srv ls', '']) {
      expect(startsShell(no), no).toBe(false);
    }
  });
});

describe('parseCommands: hostile and broken recordings', () => {
  it('skips malformed lines, a half-written last line and events of the wrong shape', () => {
    const lines = [
      HEADER,
      'not json',
      '{"a":1}',
      '[1, "o"]',
      '[-1, "o", "x"]',
      '["1", "o", "x"]',
      '[1, "o", 42]',
      JSON.stringify([0.1, 'o', prompt()]),
      ...marked(1, 'uptime', 0, 3).map((e) => JSON.stringify(e)),
      '[9.5, "o", "\\u001b]133;C;aid=7\\u0007\\u001b]633;E;ha', // cut by a crash
    ];
    expect(parseCommands(lines.join('\n')).commands).toEqual([
      { command: 'uptime', startedAt: 1.1, durationMs: 3, exitCode: 0, source: 'shell' },
    ]);
    expect(parseCommands('')).toEqual({ commands: [], source: 'none' });
    expect(parseCommands(HEADER)).toEqual({ commands: [], source: 'none' });
    expect(parseCommands(`${HEADER}\n`)).toEqual({ commands: [], source: 'none' });
  });

  it('stops at the truncation marker like any recording that ends', () => {
    const cast = castOf([
      [0.1, 'o', prompt()],
      ...marked(1, 'ls', 0, 2),
      [2, 'o', `${C()}${E('yes')}y\r\ny\r\n`],
      [3, 'm', truncationMarker(1024)],
      [4, 'm', MARKERS.submitted],
    ]);
    expect(parseCommands(cast).commands).toEqual([
      { command: 'ls', startedAt: 1.1, durationMs: 2, exitCode: 0, source: 'shell' },
      { command: 'yes', startedAt: 2, durationMs: null, exitCode: null, source: 'shell' },
    ]);
  });

  it('caps command text, from marks and from keystrokes', () => {
    const long = 'x'.repeat(50_000);
    const cast = castOf([
      [0.1, 'o', prompt()],
      [1, 'o', `${C()}${E(`echo ${long}`)}${D(0)}${prompt()}`],
      [2, 'o', `${C()}${D(0)}`], // no E: what was typed
      [3, 'm', MARKERS.shellExited],
      [4, 'i', `${long}\r`],
    ]);
    const { commands } = parseCommands(cast);
    expect(commands).toHaveLength(2);
    for (const c of commands) {
      expect(c.command.length).toBe(COMMAND_MAX_CHARS);
      expect(c.command.endsWith('…')).toBe(true);
    }
  });

  it('survives an OSC sequence that never ends, trickled byte by byte, and reads the marks after it', () => {
    const events: Ev[] = [[0, 'o', prompt()], [0.5, 'o', '\x1b]133;C;aid=7']];
    for (let k = 0; k < 20_000; k++) events.push([1, 'o', 'zzzz']);
    events.push(...marked(2, 'echo after', 0, 1));
    events.push([3, 'o', '\x1b]'.repeat(100_000)]);
    events.push(...marked(4, 'echo last', 0, 1));
    const cast = castOf(events);
    expect(parseCommands(cast).commands.map((c) => c.command)).toEqual(['echo after', 'echo last']);
  });

  it('reads tens of thousands of commands', () => {
    const events: Ev[] = [[0, 'o', prompt()]];
    const n = 40_000;
    for (let k = 0; k < n; k++) {
      const t = 1 + k * 0.01;
      events.push([t, 'i', `echo ${k}\r`], [t + 0.001, 'o', `${C()}${E(`echo ${k}`)}${k}\r\n${D(k % 3)}${prompt()}`]);
    }
    const { commands, source } = parseCommands(castOf(events));
    expect(source).toBe('shell');
    expect(commands).toHaveLength(n);
    expect(commands[n - 1]).toMatchObject({ command: `echo ${n - 1}`, exitCode: (n - 1) % 3 });
  });

  it('keeps a bounded number of open commands when a recording starts many and finishes none', () => {
    const events: Ev[] = [];
    for (let k = 0; k < 5000; k++) events.push([k / 100, 'o', `${osc(`133;C;aid=${k}`)}${E(`cmd ${k}`)}`]);
    events.push([60, 'o', D(9, '4999')]);
    const { commands } = parseCommands(castOf(events));
    expect(commands).toHaveLength(5000);
    expect(commands[4999]).toMatchObject({ command: 'cmd 4999', exitCode: 9 });
    expect(commands[0]).toMatchObject({ durationMs: null, exitCode: null });
  });
});

describe('sandbox shell setup', () => {
  it('is the same in every sandbox image: the base installs it, every other image starts from the base', () => {
    const dir = path.join(repoRoot(), 'sandboxes');
    const base = fs.readFileSync(path.join(dir, 'base', 'bashrc'), 'utf8');
    expect(base).toContain('133;C');
    expect(fs.readFileSync(path.join(dir, 'base', 'Dockerfile'), 'utf8')).toContain('COPY bashrc /root/.bashrc');
    for (const image of fs.readdirSync(dir).filter((d) => d !== 'base')) {
      // The last FROM is the image's own stage: it must be the base, and nothing may install another shell setup.
      const dockerfile = fs.readFileSync(path.join(dir, image, 'Dockerfile'), 'utf8');
      const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1]);
      expect(froms.at(-1), image).toBe('opslab/sandbox-base:latest');
      expect(dockerfile, image).not.toMatch(/\/root\/\.(bashrc|profile)|inputrc/);
      for (const file of ['bashrc', 'profile', 'inputrc', 'vimrc']) expect(fs.existsSync(path.join(dir, image, file)), `${image}/${file}`).toBe(false);
    }
  });
});
