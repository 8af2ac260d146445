import { describe, expect, it } from 'vitest';
import {
  addEnvironments,
  parseTop,
  PS_ENV_MAX_CHARS,
  splitEnvironment,
  type TopResult,
} from '../../server/src/sandbox/drivers/docker/processes.js';
import { formatEnvironments } from '../../server/src/grading/grader-inputs.js';

// What the engine answers for `ps -o pid,ppid,uid,stat,args` and `ps -o pid,args e` (procps 4, runc), as seen on
// the real engine: the environment follows the command line, blanks made single, a TAB printed as `?`.
const LIST: TopResult = {
  Titles: ['PID', 'PPID', 'UID', 'STAT', 'COMMAND'],
  Processes: [
    ['8841', '8821', '0', 'Ss', 'sh -c sleep 3000 & sleep 3001'],
    ['8870', '8841', '0', 'S', 'python3 /opt/checkout/checkout.py'],
    ['8871', '8841', '0', 'S', 'python3 /opt/checkout/loadgen.py'],
    ['8872', '8841', '0', 'Z', '[sleep] <defunct>'],
    ['8873', '8841', '0', 'S', 'sleep 3002'],
    ['8874', '8841', '0', 'S', 'sleep 3003'],
  ],
};
const WITH_ENV: TopResult = {
  Titles: ['PID', 'COMMAND'],
  Processes: [
    ['8841', 'sh -c sleep 3000 & sleep 3001 PATH=/usr/bin:/bin HOME=/root'],
    ['8870', 'python3 /opt/checkout/checkout.py A=x y B=tab?here PYTHONPATH=/root/.cache/py HOME=/root'],
    ['8871', 'python3 /opt/checkout/loadgen.py'],
    ['8872', '[sleep] <defunct>'],
    // 8873 ended between the two listings; 8874's id now names another program.
    ['8874', 'sleep 9999 PYTHONPATH=/x'],
    ['8875', 'new-process FOO=1'],
  ],
};

describe('process environments from the engine (no engine)', () => {
  it('takes what follows the known command line as the environment, split at " NAME="', () => {
    const list = addEnvironments(parseTop(LIST), WITH_ENV);
    expect(list.map((p) => [p.pid, p.environ])).toEqual([
      [8841, ['PATH=/usr/bin:/bin', 'HOME=/root']],
      [8870, ['A=x y', 'B=tab?here', 'PYTHONPATH=/root/.cache/py', 'HOME=/root']],
      [8871, []],
      [8872, []],
      [8873, undefined],
      [8874, undefined],
    ]);
    // The list itself is the first listing's, unchanged.
    expect(list.map(({ environ: _, ...p }) => p)).toEqual(parseTop(LIST));
  });

  it('never hides a variable: a value holding " NAME=" becomes two entries', () => {
    expect(splitEnvironment('MSG=hello PYTHONPATH=/x world LANG=C.UTF-8')).toEqual([
      'MSG=hello',
      'PYTHONPATH=/x world',
      'LANG=C.UTF-8',
    ]);
    expect(splitEnvironment('')).toEqual([]);
    expect(splitEnvironment('odd entry A=1')).toEqual(['odd entry', 'A=1']);
  });

  it('leaves an environment ps may have cut, or an unreadable listing, unknown', () => {
    const long = `python3 /opt/checkout/checkout.py PAD=${'a'.repeat(PS_ENV_MAX_CHARS)}`;
    const list = addEnvironments(parseTop(LIST), { Titles: ['PID', 'COMMAND'], Processes: [['8870', long]] });
    expect(list.find((p) => p.pid === 8870)!.environ).toBeUndefined();
    expect(addEnvironments(parseTop(LIST), {}).every((p) => p.environ === undefined)).toBe(true);
    expect(addEnvironments(parseTop(LIST), { Titles: ['COMMAND'], Processes: [['x A=1']] }).every((p) => p.environ === undefined)).toBe(
      true,
    );
  });
});

describe('/probe/environ (no engine)', () => {
  const decode = (line: string) => line.split('\t').map((f) => decodeURIComponent(f));

  it('writes one line per known environment, TAB-separated, with %, TAB, LF and CR escaped', () => {
    const text = formatEnvironments([
      { pid: 1, ppid: 0, uid: 0, stat: 'S', args: 'a', environ: ['A=50% off', 'B=tab\there', 'C=two\nlines\r'] },
      { pid: 2, ppid: 1, uid: 0, stat: 'S', args: 'b', environ: [] },
      { pid: 3, ppid: 1, uid: 0, stat: 'S', args: 'c' },
    ]);
    expect(text).toBe('1\tA=50%25 off\tB=tab%09here\tC=two%0Alines%0D\n2\n');
    const lines = text.split('\n').filter(Boolean);
    expect(decode(lines[0]!)).toEqual(['1', 'A=50% off', 'B=tab\there', 'C=two\nlines\r']);
    expect(decode(lines[1]!)).toEqual(['2']);
    expect(formatEnvironments([])).toBe('');
  });
});
