// Files in and out of the workspace, and the page's signals, on a real server and engine: uploads, downloads of a
// file and of the tarball, the per-exercise and per-invite switches, refusals, events, bad reports and rate limits.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TRANSFER_LIMITS } from '../../contract/files.js';
import { SIGNAL_LIMITS } from '../../contract/signals.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { api, attemptCookieToken, request, startAttempt } from '../helpers/api.js';
import { sandboxSh, useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { readTarEntries } from '../helpers/tar.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Raw bytes of a response (downloads). */
async function fetchBytes(url: string, token?: string): Promise<{ status: number; bytes: Buffer; headers: Headers; text: string }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, bytes, headers: res.headers, text: bytes.toString('utf8') };
}

/** The entries of a gzipped tar: name, type, link target, body. */
export async function readTarball(gz: Buffer): Promise<Map<string, { type: string; linkname: string | null; body: Buffer }>> {
  return new Map((await readTarEntries(gz)).map((e) => [e.name.replace(/\/$/, ''), { type: e.type, linkname: e.linkname, body: e.body }]));
}

describe('workspace transfers and signals API (real server, real engine)', () => {
  const server = useTestServer();
  let staff: StaffSession;
  let a: { id: string; token: string };
  let b: { id: string; token: string };

  const sh = (cmd: string, attemptId = a.id) => sandboxSh(server, attemptId, cmd);
  const uploadRaw = async (p: string, bytes: Buffer, token: string, id: string) => {
    const res = await fetch(`${server.url}/api/attempts/${id}/upload?path=${encodeURIComponent(p)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    const text = await res.text();
    let body: any = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, text };
  };
  const upload = (p: string, bytes: Buffer, token = a.token, id = a.id) => uploadRaw(p, bytes, token, id);
  const downloadFile = (p: string, token = a.token, id = a.id) =>
    fetchBytes(`${server.url}/api/attempts/${id}/download?path=${encodeURIComponent(p)}`, token);
  const downloadTar = (token = a.token, id = a.id) => fetchBytes(`${server.url}/api/attempts/${id}/workspace.tar.gz`, token);
  const events = async (id: string, kind: string) => (await new AttemptsRepo(server.services.sql).events(id)).filter((e) => e.kind === kind);
  const signal = (body: unknown, token = a.token, id = a.id) => api(server.url, 'POST', `/api/attempts/${id}/signals`, token, body);

  /** An interview attempt of shell-warmup from a new invite with `files` (left out: the default). */
  const interview = async (files?: { upload?: boolean; download?: boolean }) => {
    const created = await request(server.url, 'POST', '/api/manage/invites', staff.headers, {
      exerciseId: 'shell-warmup',
      candidateName: 'Casey Candidate',
      candidateEmail: 'casey@example.test',
      showFeedback: false,
      ...(files ? { files } : {}),
    });
    expect(created.status, created.text).toBe(201);
    const claim = new URL(created.body.invite.link).hash.slice(1);
    const started = await api(server.url, 'POST', '/api/invite/start', claim);
    expect(started.status, started.text).toBe(201);
    const id = started.body.attempt.id as string;
    return { id, token: attemptCookieToken(started.headers, id), invite: created.body.invite };
  };

  beforeAll(async () => {
    staff = await staffSession(server, 'interviewer');
    const sa = await startAttempt(server.url, 'shell-warmup');
    const sb = await startAttempt(server.url, 'shell-warmup');
    a = { id: sa.attempt.id, token: sa.token };
    b = { id: sb.attempt.id, token: sb.token };
    await sh('mkdir -p /root/work/sub && printf "hello\\n" > /root/work/sub/hello.txt && ln -s /etc/passwd /root/work/passwd-link && ln -s /etc /root/work/etc-link');
  });

  it('practice allows both: the tree says so, an upload lands byte for byte and is an event with a marker', async () => {
    const tree = await api(server.url, 'GET', `/api/attempts/${a.id}/files`, a.token);
    expect(tree.status, tree.text).toBe(200);
    expect(tree.body.transfer).toEqual({ upload: true, download: true });

    const bytes = Buffer.concat([Buffer.from([0, 1, 2, 255, 0]), Buffer.from('binary ü\n')]);
    const res = await upload('/root/work/sub/data.bin', bytes);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ path: '/root/work/sub/data.bin', size: bytes.length, sha256: sha(bytes), created: true });
    expect((await sh('sha256sum /root/work/sub/data.bin')).split(' ')[0]).toBe(sha(bytes));
    expect((await sh('stat -c "%a %u" /root/work/sub/data.bin')).trim()).toBe('644 0');
    const ev = await events(a.id, 'file.uploaded');
    expect(ev.at(-1)!.detail).toEqual({ path: '/root/work/sub/data.bin', bytes: bytes.length, sha256: sha(bytes), created: true });
    server.services.attempts.flushRecording(a.id);
    const cast = fs.readFileSync(server.services.attempts.recordingFile((await server.services.attempts.get(a.id))!), 'utf8');
    expect(cast).toContain(`"m","file uploaded /root/work/sub/data.bin (${bytes.length} bytes)"`);

    // Replacing keeps the mode and owner.
    await sh('chmod 0600 /root/work/sub/hello.txt && chown 1000:1000 /root/work/sub/hello.txt');
    const again = await upload('/root/work/sub/hello.txt', Buffer.from('replaced\n'));
    expect(again.status, again.text).toBe(200);
    expect(again.body.created).toBe(false);
    expect(await sh('cat /root/work/sub/hello.txt')).toBe('replaced\n');
    expect((await sh('stat -c "%a %u %g" /root/work/sub/hello.txt')).trim()).toBe('600 1000 1000');
  });

  it('refuses an upload past the limit before it reaches the sandbox', async () => {
    const res = await upload('/root/work/big.bin', Buffer.alloc(TRANSFER_LIMITS.maxUploadBytes + 1, 1));
    expect(res.status).toBe(413);
    expect(await sh('ls /root/work')).not.toContain('big.bin');
    // Exactly the limit is fine.
    const ok = await upload('/root/work/limit.bin', Buffer.alloc(TRANSFER_LIMITS.maxUploadBytes, 2));
    expect(ok.status, ok.text).toBe(200);
    expect((await sh('stat -c %s /root/work/limit.bin')).trim()).toBe(String(TRANSFER_LIMITS.maxUploadBytes));
    // A JSON body is not a file.
    const json = await api(server.url, 'PUT', `/api/attempts/${a.id}/upload?path=/root/work/j.txt`, a.token, { content: 'x' });
    expect(json.status).toBe(400);
    expect(json.body.error.message).toContain('application/octet-stream');
    expect(await sh('ls /root/work')).not.toContain('j.txt');
  });

  it('refuses traversal, paths outside the folders and links, for uploads and downloads', async () => {
    for (const p of ['/etc/passwd', '/root/work/../../etc/x', '/root/work/./x', 'root/work/x', '/root/workshop/x', '/root/work/passwd-link', '/root/work/etc-link/shadow', '/root/work/sub']) {
      const up = await upload(p, Buffer.from('pwned\n'));
      expect([403, 400], `${p}: ${up.text}`).toContain(up.status);
      const down = await downloadFile(p);
      expect([403, 400, 422], `${p}: ${down.text}`).toContain(down.status);
      expect(down.text).not.toContain('root:x:0:0');
    }
    expect(await sh('grep -c pwned /etc/passwd /etc/shadow 2>/dev/null || true')).not.toMatch(/:[1-9]/);
    expect((await sh('readlink /root/work/passwd-link')).trim()).toBe('/etc/passwd');
  });

  it('downloads a file byte for byte, as an event with its sha256; missing 404, too large 413', async () => {
    const bytes = Buffer.from((await sh('base64 /root/work/sub/data.bin')).replace(/\s/g, ''), 'base64');
    const res = await downloadFile('/root/work/sub/data.bin');
    expect(res.status, res.text).toBe(200);
    expect(res.bytes.equals(bytes)).toBe(true);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="data.bin"');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await events(a.id, 'file.downloaded')).at(-1)!.detail).toEqual({ path: '/root/work/sub/data.bin', bytes: bytes.length, sha256: sha(bytes) });
    expect((await downloadFile('/root/work/nope.txt')).status).toBe(404);
    await sh(`truncate -s ${TRANSFER_LIMITS.maxFileDownloadBytes + 1} /root/work/sparse.bin`);
    const big = await downloadFile('/root/work/sparse.bin');
    expect(big.status).toBe(413);
    await sh('rm /root/work/sparse.bin');
  });

  it('downloads the workspace as a tarball: files, folders, links as links; refused past the cap', async () => {
    const res = await downloadTar();
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const entries = await readTarball(res.bytes);
    expect(entries.get('root/work/sub')?.type).toBe('directory');
    expect(entries.get('root/work/sub/hello.txt')?.body.toString()).toBe('replaced\n');
    expect(entries.get('root/work/passwd-link')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
    expect(entries.get('root/work/passwd-link')!.body.length).toBe(0);
    expect([...entries.keys()].some((n) => n.startsWith('etc') || n.includes('..'))).toBe(false);
    const ev = (await events(a.id, 'workspace.downloaded')).at(-1)!.detail as { sha256: string; bytes: number; entries: number };
    expect(ev).toMatchObject({ path: '/root/work', bytes: res.bytes.length, sha256: sha(res.bytes), entries: entries.size });

    await sh(`truncate -s ${TRANSFER_LIMITS.maxArchiveBytes + 1} /root/work/sparse.bin`);
    const big = await downloadTar();
    expect(big.status).toBe(413);
    expect(big.text).toContain('download single files');
    await sh('rm /root/work/sparse.bin');
  });

  it('answers 401 without a token and 404 to another attempt’s token', async () => {
    expect((await uploadRaw('/root/work/x', Buffer.from('x'), '', a.id)).status).toBe(401);
    expect((await downloadFile('/root/work/sub/hello.txt', '')).status).toBe(401);
    expect((await downloadTar('')).status).toBe(401);
    expect((await uploadRaw('/root/work/x', Buffer.from('x'), b.token, a.id)).status).toBe(404);
    expect((await downloadFile('/root/work/sub/hello.txt', b.token, a.id)).status).toBe(404);
    expect((await downloadTar(b.token, a.id)).status).toBe(404);
    expect((await signal({ kind: 'back' }, b.token, a.id)).status).toBe(404);
    expect(await sh('ls /root/work')).not.toMatch(/^x$/m);
  });

  it('is off for an exercise that says so, whatever the mode', async () => {
    const exercise = server.services.catalog.get('shell-warmup')!;
    const before = exercise.files;
    exercise.files = { upload: false, download: false };
    try {
      const tree = await api(server.url, 'GET', `/api/attempts/${b.id}/files`, b.token);
      expect(tree.body.transfer).toEqual({ upload: false, download: false });
      const up = await uploadRaw('/root/work/x', Buffer.from('x'), b.token, b.id);
      expect(up.status).toBe(403);
      expect(up.body.error.code).toBe('OPSLAB_ERR_TRANSFER_OFF');
      expect((await downloadTar(b.token, b.id)).status).toBe(403);
      expect((await downloadFile('/root/work/x', b.token, b.id)).status).toBe(403);
    } finally {
      exercise.files = before;
    }
  });

  it('is off in interviews unless the invite turns it on; the invite keeps its choice', async () => {
    const plain = await interview();
    expect(plain.invite.files).toEqual({ upload: null, download: null });
    const tree = await api(server.url, 'GET', `/api/attempts/${plain.id}/files`, plain.token);
    expect(tree.body.transfer).toEqual({ upload: false, download: false });
    expect((await uploadRaw('/root/work/x', Buffer.from('x'), plain.token, plain.id)).status).toBe(403);
    expect((await downloadTar(plain.token, plain.id)).status).toBe(403);

    const on = await interview({ upload: true, download: false });
    expect(on.invite.files).toEqual({ upload: true, download: false });
    const listed = await request(server.url, 'GET', '/api/manage/invites', staff.headers);
    expect(listed.body.invites.find((i: { id: string }) => i.id === on.invite.id).files).toEqual({ upload: true, download: false });
    expect((await api(server.url, 'GET', `/api/attempts/${on.id}/files`, on.token)).body.transfer).toEqual({ upload: true, download: false });
    const up = await uploadRaw('/root/work/notes.txt', Buffer.from('notes\n'), on.token, on.id);
    expect(up.status, up.text).toBe(200);
    expect((await downloadFile('/root/work/notes.txt', on.token, on.id)).status).toBe(403);

    // An exercise's `false` wins over the invite.
    const exercise = server.services.catalog.get('shell-warmup')!;
    const before = exercise.files;
    exercise.files = { upload: false };
    try {
      expect((await uploadRaw('/root/work/more.txt', Buffer.from('x'), on.token, on.id)).status).toBe(403);
    } finally {
      exercise.files = before;
    }
    // A bad switch is a 400.
    const bad = await request(server.url, 'POST', '/api/manage/invites', staff.headers, {
      exerciseId: 'shell-warmup', candidateName: 'X', candidateEmail: 'x@example.test', showFeedback: false, files: { upload: 'yes' },
    });
    expect(bad.status).toBe(400);
  });

  it('records pastes and absences as events, measured on the server; the review reads them', async () => {
    const paste = await signal({ kind: 'paste', target: 'terminal', chars: 1240 });
    expect(paste.status, paste.text).toBe(200);
    expect((await events(a.id, 'signal.paste')).at(-1)!.detail).toEqual({ target: 'terminal', chars: 1240 });
    expect((await signal({ kind: 'away', cause: 'hidden' })).body).toEqual({ recorded: true });
    expect((await signal({ kind: 'away', cause: 'blur' })).body).toEqual({ recorded: false });
    // While it lasts, the review (and the live view) see it as away now.
    const during = await request(server.url, 'GET', `/api/manage/attempts/${a.id}/signals`, staff.headers);
    expect(during.body.awayNow).toEqual({ from: expect.any(String), cause: 'hidden' });
    expect(during.body.away).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await signal({ kind: 'back' })).body).toEqual({ recorded: true });
    expect((await signal({ kind: 'back' })).body).toEqual({ recorded: false });
    const away = (await events(a.id, 'signal.away')).at(-1)!.detail as { ms: number; cause: string };
    expect(away.cause).toBe('hidden');
    expect(away.ms).toBeGreaterThanOrEqual(1100);
    expect(away.ms).toBeLessThan(10_000);

    const report = await request(server.url, 'GET', `/api/manage/attempts/${a.id}/signals`, staff.headers);
    expect(report.status, report.text).toBe(200);
    expect(report.body.pastes).toEqual([expect.objectContaining({ target: 'terminal', chars: 1240 })]);
    expect(report.body.away).toHaveLength(1);
    expect(report.body.awayNow).toBeNull();
    expect(report.body.summary).toMatchObject({ pasteCount: 1, pastedChars: 1240, awayCount: 1, idleMinutes: SIGNAL_LIMITS.idleMinutes });
    // A candidate's token does not read the review.
    expect((await api(server.url, 'GET', `/api/manage/attempts/${a.id}/signals`, a.token)).status).toBe(401);
  });

  it('records an absence still open when the attempt ends, up to the end', async () => {
    const c = await startAttempt(server.url, 'shell-warmup');
    expect((await signal({ kind: 'away', cause: 'blur' }, c.token, c.attempt.id)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api(server.url, 'POST', `/api/attempts/${c.attempt.id}/submit`, c.token)).status).toBe(200);
    const away = await events(c.attempt.id, 'signal.away');
    expect(away).toHaveLength(1);
    expect((away[0]!.detail as { ms: number; cause: string }).cause).toBe('blur');
    expect((away[0]!.detail as { ms: number }).ms).toBeGreaterThanOrEqual(250);
    expect((await signal({ kind: 'back' }, c.token, c.attempt.id)).status).toBe(409);
  });

  it('answers 400 to bad reports and 429 past the rate', async () => {
    for (const body of [
      {},
      { kind: 'paste', target: 'terminal', chars: SIGNAL_LIMITS.pasteMinChars - 1 },
      { kind: 'paste', target: 'terminal', chars: 1.5 },
      { kind: 'paste', target: 'clipboard', chars: 500 },
      { kind: 'paste', target: 'editor', chars: 500, text: 'secret' },
      { kind: 'away', cause: 'nap' },
      { kind: 'away' },
      { kind: 'back', ms: 5 },
      { kind: 'idle' },
      'paste',
    ]) {
      const res = await signal(body, b.token, b.id);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const huge = await request(server.url, 'POST', `/api/attempts/${b.id}/signals`, { authorization: `Bearer ${b.token}` }, { kind: 'back', pad: 'x'.repeat(4000) });
    expect(huge.status).toBe(413);
    expect(await events(b.id, 'signal.paste')).toHaveLength(0);

    let limited: Awaited<ReturnType<typeof signal>> | null = null;
    for (let i = 0; i <= SIGNAL_LIMITS.reportsPerMinute; i++) {
      const res = await signal({ kind: 'paste', target: 'editor', chars: 300 }, b.token, b.id);
      if (res.status === 429) {
        limited = res;
        break;
      }
      expect(res.status).toBe(200);
    }
    expect(limited?.body.error.code).toBe('OPSLAB_ERR_SIGNAL_RATE');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await events(b.id, 'signal.paste')).toHaveLength(SIGNAL_LIMITS.reportsPerMinute);
  });
});
