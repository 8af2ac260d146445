import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ArchiveWriter } from '../../server/src/grading/archive.js';
import { watchEventLoop } from '../helpers/event-loop.js';
import { diffSnapshots, diffSnapshotTars, snapshotSandbox } from '../../server/src/grading/snapshot.js';
import { toJsonReport, toJUnitXml, xmlEscape } from '../../server/src/grading/report.js';
import type { GradingRun } from '../../server/src/grading/runner.js';

type E = { name: string; type?: 'file' | 'directory' | 'symlink'; content?: string | Buffer; linkname?: string; mode?: number };

/** A snapshot as snapshotSandbox makes it, from the entries of an archive of /root/work. */
async function snapshot(entries: E[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of [{ name: 'work', type: 'directory' as const }, ...entries]) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    pack.entry({ name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), linkname: e.linkname, size: body.length }, body);
  }
  pack.finalize();
  const writer = new ArchiveWriter({ mode: 'snapshot', prefix: '', roots: ['/root/work'], maxFileBytes: 2 * 1024 * 1024 });
  const chunks: Buffer[] = [];
  const consume = (async () => {
    for await (const c of writer.stream()) chunks.push(c as Buffer);
  })();
  await writer.addArchive('/root/work', Readable.from(pack as unknown as AsyncIterable<Buffer>));
  if (writer.truncated.length) await writer.addFile('/.opslab-snapshot-truncated', writer.truncated.join('\n'));
  writer.finalize();
  await consume;
  return Buffer.concat(chunks);
}

describe('diffSnapshots', () => {
  it('names every change and diffs text files', async () => {
    const before = await snapshot([
      { name: 'work/app.conf', content: 'port = 8080\nmode = debug\n' },
      { name: 'work/gone.txt', content: 'bye\n' },
      { name: 'work/same.txt', content: 'same\n' },
      { name: 'work/becomes-dir', content: 'file\n' },
      { name: 'work/link', type: 'symlink', linkname: 'app.conf' },
      { name: 'work/run.sh', content: 'echo\n', mode: 0o644 },
    ]);
    const after = await snapshot([
      { name: 'work/app.conf', content: 'port = 8080\nmode = production\n' },
      { name: 'work/same.txt', content: 'same\n' },
      { name: 'work/new.txt', content: 'hello\n' },
      { name: 'work/becomes-dir', type: 'directory' },
      { name: 'work/link', type: 'symlink', linkname: 'same.txt' },
      { name: 'work/run.sh', content: 'echo\n', mode: 0o755 },
      { name: 'work/blob', content: Buffer.from([0, 1, 2, 3]) },
    ]);
    const d = await diffSnapshots(before, after);
    expect(d.changed).toEqual([
      { path: '/root/work/app.conf', change: 'modified' },
      { path: '/root/work/becomes-dir', change: 'type-changed' },
      { path: '/root/work/blob', change: 'added' },
      { path: '/root/work/gone.txt', change: 'removed' },
      { path: '/root/work/link', change: 'modified' },
      { path: '/root/work/new.txt', change: 'added' },
      { path: '/root/work/run.sh', change: 'modified' },
    ]);
    expect(d.diff).toContain('--- a/root/work/app.conf\n+++ b/root/work/app.conf');
    expect(d.diff).toContain(' port = 8080\n-mode = debug\n+mode = production\n');
    expect(d.diff).toContain('--- /dev/null\n+++ b/root/work/new.txt');
    expect(d.diff).toContain('--- a/root/work/gone.txt\n+++ /dev/null');
    expect(d.diff).toContain('Binary file /root/work/blob added');
    expect(d.diff).toContain('Type changed: /root/work/becomes-dir: file -> directory');
    expect(d.diff).toContain('Symlink modified: /root/work/link: symlink -> app.conf -> symlink -> same.txt');
    expect(d.diff).toContain('Mode changed: /root/work/run.sh: 644 -> 755');
    expect(d.diff).not.toContain('same.txt\n+++');
  });

  it('does not diff files over 1 MiB and says so', async () => {
    const big = 'line\n'.repeat(300_000);
    const d = await diffSnapshots(
      await snapshot([{ name: 'work/big.log', content: big }]),
      await snapshot([{ name: 'work/big.log', content: `${big}more\n` }]),
    );
    expect(d.changed).toEqual([{ path: '/root/work/big.log', change: 'modified' }]);
    expect(d.diff).toBe('File /root/work/big.log modified: larger than 1 MiB, not diffed\n');
  });

  it('treats an empty snapshot as nothing', async () => {
    const d = await diffSnapshots(Buffer.alloc(0), await snapshot([{ name: 'work/a', content: 'a\n' }]));
    expect(d.changed).toEqual([
      { path: '/root/work', change: 'added' },
      { path: '/root/work/a', change: 'added' },
    ]);
    expect(d.diff).toContain('New directory: /root/work');
  });

  // Files of distinct lines make a line diff quadratic: a candidate could make the final diff take minutes.
  const distinct = (tag: string) =>
    Array.from({ length: 30_000 }, (_, i) => `${tag} ${i} ${((i * 2654435761) % 4294967296).toString(36)}`).join('\n');

  it('gives up on a file past its time budget, and stops diffing past the total budget', async () => {
    const names = ['work/a', 'work/b', 'work/c', 'work/d'];
    const before = await snapshot(names.map((name) => ({ name, content: distinct('old') })));
    const after = await snapshot(names.map((name) => ({ name, content: distinct('new') })));
    const t0 = performance.now();
    const d = await diffSnapshotTars(before, after, { perFileMs: 150, totalMs: 400 });
    const took = performance.now() - t0;
    expect(d.changed.map((c) => c.change)).toEqual(['modified', 'modified', 'modified', 'modified']);
    expect(d.diff).toContain('File /root/work/a modified: too large to diff');
    expect(d.diff).toContain('File /root/work/d modified: not diffed, the diff\'s time budget was spent on other files');
    // Generous bound: reading the tars and three diffs of at most 150 ms each.
    expect(took).toBeLessThan(5_000);
  });

  it('reads stored snapshots from disk and keeps at most its memory budget of content: past it files are compared by digest, named, not diffed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-diff-'));
    try {
      const before = path.join(dir, 'initial.tar');
      const after = path.join(dir, 'final.tar');
      fs.writeFileSync(before, await snapshot([{ name: 'work/a', content: 'a\n'.repeat(400) }, { name: 'work/b', content: 'b\n' }, { name: 'work/same', content: 'x'.repeat(900) }]));
      fs.writeFileSync(after, await snapshot([{ name: 'work/a', content: 'A\n'.repeat(400) }, { name: 'work/b', content: 'B\n' }, { name: 'work/same', content: 'x'.repeat(900) }]));
      const d = await diffSnapshots(before, after, { perFileMs: 1000, totalMs: 5000, maxContentBytes: 1000 });
      // Identical files are still found identical by digest, content kept or not.
      expect(d.changed).toEqual([
        { path: '/root/work/a', change: 'modified' },
        { path: '/root/work/b', change: 'modified' },
      ]);
      // The budget went to the files read first: a's new content did not fit, b's did.
      expect(d.diff).toContain("File /root/work/a modified: not diffed, the diff's memory budget was spent on other files");
      expect(d.diff).toContain('-b\n+B\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says first when a snapshot was cut at its size limit, and names the files cut by it', async () => {
    const before = await snapshot([]);
    const pack = tarStream.pack();
    pack.entry({ name: 'work', type: 'directory', mode: 0o755 });
    for (const n of [1, 2, 3]) pack.entry({ name: `work/f${n}`, type: 'file', mode: 0o644, size: 1000 }, Buffer.alloc(1000, 'x'));
    pack.finalize();
    const source = { copyOut: async () => Readable.from(pack as unknown as AsyncIterable<Buffer>) };
    const after = await snapshotSandbox(source, 'sandbox', ['/root/work'], { maxTotalBytes: 2500 });
    const d = await diffSnapshots(before, after);
    expect(d.diff.split('\n')[0]).toBe('Snapshot cut at its size limit (2500 bytes): files after the limit were kept empty and are not compared.');
    expect(d.diff).toContain('File /root/work/f3 added: not compared, the snapshot had reached its size limit');
    expect(d.changed.map((c) => c.path)).toEqual(['/root/work/f1', '/root/work/f2', '/root/work/f3']);
  });

  it('runs off the event loop: timers keep firing while a long diff runs', async () => {
    const before = await snapshot([{ name: 'work/a', content: distinct('old') }, { name: 'work/b', content: distinct('x') }]);
    const after = await snapshot([{ name: 'work/a', content: distinct('new') }, { name: 'work/b', content: distinct('y') }]);
    const loop = watchEventLoop();
    let worst = 0;
    try {
      const d = await diffSnapshots(before, after, { perFileMs: 1500, totalMs: 3000 });
      expect(d.changed).toHaveLength(2);
    } finally {
      worst = loop.stop();
    }
    // Diffing both files on this thread would block it for about 3 s.
    expect(worst).toBeLessThan(1000);
  });
});

const run: GradingRun = {
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:02.000Z',
  durationMs: 2000,
  score: 10,
  maxScore: 15,
  results: [
    { id: 'a', title: 'A passes', points: 10, advisory: false, visible: true, verdict: 'pass', message: '', details: 'fine', durationMs: 100 },
    { id: 'b', title: 'B <fails>', points: 5, advisory: false, visible: false, verdict: 'fail', message: 'x < y & "z"', details: 'evidence\u0001]]>', durationMs: 200 },
    { id: 'c', title: "C's error", points: 7, advisory: false, visible: true, verdict: 'error', message: 'crashed', details: '', durationMs: 300 },
  ],
  cleanroom: [],
  phases: { graderStartMs: 1, copyMs: 1, cleanroomMs: 0, checksMs: 1 },
};

describe('reports', () => {
  it('writes JUnit XML with failures, errors and escaped text', () => {
    const xml = toJUnitXml(run, { suiteName: 'ex & "1"' });
    expect(xml).toContain('<testsuite name="ex &amp; &quot;1&quot;" tests="3" failures="1" errors="1"');
    expect(xml).toContain('<testcase classname="ex &amp; &quot;1&quot;" name="b: B &lt;fails&gt;" time="0.200">');
    expect(xml).toContain('<failure message="x &lt; y &amp; &quot;z&quot;" type="fail">');
    expect(xml).toContain('<error message="crashed" type="error">crashed</error>');
    expect(xml).toContain('<system-out>evidence\uFFFD]]&gt;</system-out>');
    expect(xml).toContain('name="c: C&apos;s error"');
    // Balanced: every opened element is closed.
    for (const tag of ['testsuites', 'testsuite', 'testcase', 'properties']) {
      expect((xml.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length).toBe((xml.match(new RegExp(`</${tag}>`, 'g')) ?? []).length);
    }
    expect(xmlEscape('\uD800x')).toBe('\uFFFDx');
  });

  it('writes JSON, hiding the details and invisible messages from the candidate', () => {
    const full = toJsonReport(run, { exerciseId: 'ex' });
    expect(full).toMatchObject({ exercise: 'ex', score: 10, maxScore: 15, counts: { pass: 1, fail: 1, error: 1 } });
    expect(full.checks[1]!.details).toBe('evidence\u0001]]>');
    const candidate = toJsonReport(run, { forCandidate: true });
    expect(candidate.checks.map((c) => [c.message, c.details])).toEqual([
      ['', ''],
      ['', ''],
      ['crashed', ''],
    ]);
  });
});
