import { describe, expect, it } from 'vitest';
import { formatLogLine, readableLogStream, serverLogger } from '../../server/src/log-format.js';

// 2026-12-06T01:02:03.004Z
const TIME = Date.UTC(2026, 11, 6, 1, 2, 3, 4);
const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, time: TIME, pid: 42, hostname: 'h', ...o });

describe('readable server logs', () => {
  it('prints time, level, message and the fields worth reading, ids first', () => {
    const out = formatLogLine(line({ msg: 'attempt started', exerciseId: 'ci-triage', attemptId: 'a_0123', ms: 812 }), { utc: true });
    expect(out).toBe('01:02:03.004 INFO  attempt started attemptId=a_0123 exerciseId=ci-triage ms=812\n');
  });

  it("shows Fastify's request lines compactly", () => {
    const incoming = line({ msg: 'incoming request', reqId: 'req-1', req: { method: 'GET', url: '/api/health', remoteAddress: '127.0.0.1' } });
    expect(formatLogLine(incoming, { utc: true })).toBe('01:02:03.004 INFO  incoming request GET /api/health reqId=req-1\n');
    const done = line({ msg: 'request completed', reqId: 'req-1', res: { statusCode: 200 }, responseTime: 3.14159 });
    expect(formatLogLine(done, { utc: true })).toBe('01:02:03.004 INFO  request completed 200 3.1 ms reqId=req-1\n');
  });

  it('puts an error message on the line and its stack below, indented', () => {
    const err = { type: 'TypeError', message: 'boom', stack: 'TypeError: boom\n    at f (/srv/a.js:1:2)\n    at g (/srv/b.js:3:4)' };
    const out = formatLogLine(JSON.stringify({ level: 50, time: TIME, msg: 'grading failed', attemptId: 'a_1', err }), { utc: true });
    expect(out).toBe(
      '01:02:03.004 ERROR grading failed attemptId=a_1 err="TypeError: boom"\n    at f (/srv/a.js:1:2)\n    at g (/srv/b.js:3:4)\n',
    );
    const plain = formatLogLine(JSON.stringify({ level: 40, time: TIME, msg: 'stop failed', err: 'no such container' }), { utc: true });
    expect(plain).toBe('01:02:03.004 WARN  stop failed err="no such container"\n');
  });

  it('quotes values with spaces, keeps objects as compact JSON, cuts long values', () => {
    const out = formatLogLine(line({ msg: 'reconciled', reconcile: { adopted: 1, expired: 0 }, note: 'two words', long: 'x'.repeat(400) }), { utc: true });
    expect(out).toContain('reconcile={"adopted":1,"expired":0} note="two words" long=');
    expect(out).toContain(`${'x'.repeat(290)}…`);
    expect(out).not.toContain('x'.repeat(400));
  });

  it('colours the level only when asked', () => {
    expect(formatLogLine(line({ msg: 'hi' }), { utc: true, color: true })).toContain('\x1b[32mINFO ');
    expect(formatLogLine(line({ msg: 'hi' }), { utc: true })).not.toContain('\x1b[');
  });

  it('passes lines that are not JSON objects through', () => {
    expect(formatLogLine('plain text')).toBe('plain text\n');
    expect(formatLogLine('[1,2]\n')).toBe('[1,2]\n');
  });

  it('as a stream, formats every line of a chunk', () => {
    const written: string[] = [];
    const stream = readableLogStream({ write: (c: string) => written.push(c) }, { utc: true });
    stream.write(`${line({ msg: 'one' })}\n${line({ msg: 'two' })}\n`);
    expect(written).toEqual(['01:02:03.004 INFO  one\n', '01:02:03.004 INFO  two\n']);
  });

  it('is used on a terminal only', () => {
    expect(serverLogger('info', { write: () => true, isTTY: false })).toEqual({ level: 'info' });
    expect(serverLogger('debug', { write: () => true })).toEqual({ level: 'debug' });
    const tty = serverLogger('info', { write: () => true, isTTY: true }, {});
    expect(tty.level).toBe('info');
    expect(tty.stream).toBeDefined();
  });
});
