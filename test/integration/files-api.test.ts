// The workspace editor's API on a real server and engine: the tree, reading, saving, conflicts, refusals.
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILE_LIMITS } from '../../contract/files.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { versionOf } from '../../server/src/workspace-files/files-service.js';
import { api, request, startAttempt } from '../helpers/api.js';
import { sandboxSh, useTestServer } from '../helpers/server.js';

describe('workspace files API (real server, real engine)', () => {
  const server = useTestServer();
  let a: { id: string; token: string };
  let b: { id: string; token: string };

  /** Runs a shell command in attempt `a`'s sandbox, as the candidate's shell would. */
  const sh = (cmd: string, attemptId = a.id) => sandboxSh(server, attemptId, cmd);
  const files = (token = a.token, id = a.id) => api(server.url, 'GET', `/api/attempts/${id}/files`, token);
  const read = (path: string, token = a.token, id = a.id) =>
    api(server.url, 'GET', `/api/attempts/${id}/file?path=${encodeURIComponent(path)}`, token);
  const write = (path: string, content: string, baseVersion: string | null, token = a.token, id = a.id) =>
    api(server.url, 'PUT', `/api/attempts/${id}/file`, token, { path, content, baseVersion });

  beforeAll(async () => {
    const sa = await startAttempt(server.url, 'shell-warmup');
    const sb = await startAttempt(server.url, 'shell-warmup');
    a = { id: sa.attempt.id, token: sa.token };
    b = { id: sb.attempt.id, token: sb.token };
    await sh(
      'mkdir -p /root/work/infra/modules && printf "resource \\"x\\" \\"y\\" {}\\n" > /root/work/infra/main.tf && ' +
        'printf "a: 1\\n" > /root/work/ci.yml && chmod 0600 /root/work/ci.yml && chown 1000:1000 /root/work/ci.yml && ' +
        'ln -s /etc/passwd /root/work/passwd-link',
    );
  });

  it('lists the tree under the workspace, links shown as links', async () => {
    const res = await files();
    expect(res.status, res.text).toBe(200);
    expect(res.body.roots).toEqual(['/root/work']);
    const byPath = Object.fromEntries(res.body.entries.map((e: { path: string }) => [e.path, e]));
    expect(byPath['/root/work/infra']).toMatchObject({ type: 'directory' });
    expect(byPath['/root/work/infra/modules']).toMatchObject({ type: 'directory' });
    expect(byPath['/root/work/infra/main.tf']).toMatchObject({ type: 'file', size: 20 });
    expect(byPath['/root/work/passwd-link']).toMatchObject({ type: 'symlink', linkTarget: '/etc/passwd' });
    expect(res.body.truncated).toBe(false);
  });

  it('reads a file with its version and saves it, keeping its mode and owner', async () => {
    const got = await read('/root/work/ci.yml');
    expect(got.status, got.text).toBe(200);
    expect(got.body).toMatchObject({ path: '/root/work/ci.yml', content: 'a: 1\n', size: 5, mode: 0o600 });
    expect(got.body.version).toBe(versionOf(Buffer.from('a: 1\n')));

    const saved = await write('/root/work/ci.yml', 'a: 2\nb: ü\n', got.body.version);
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body).toMatchObject({ created: false, size: Buffer.byteLength('a: 2\nb: ü\n') });
    expect(await sh('cat /root/work/ci.yml')).toBe('a: 2\nb: ü\n');
    expect((await sh('stat -c "%a %u %g" /root/work/ci.yml')).trim()).toBe('600 1000 1000');

    // The save is an attempt event with a short diff.
    const events = (await new AttemptsRepo(server.services.sql).events(a.id)).filter((e) => e.kind === 'file.saved');
    expect(events.length).toBe(1);
    const detail = events[0]!.detail;
    expect(detail).toMatchObject({ path: '/root/work/ci.yml', created: false, diffCut: false });
    expect((detail as { diff: string }).diff).toContain('-a: 1');
    expect((detail as { diff: string }).diff).toContain('+a: 2');
    // ... and a marker in the recording, next to what the shell did.
    server.services.attempts.flushRecording(a.id);
    const cast = fs.readFileSync(server.services.attempts.recordingFile((await server.services.attempts.get(a.id))!), 'utf8');
    expect(cast).toContain('"m","file saved /root/work/ci.yml"');
  });

  it('creates a new file as root, 0644, and refuses a missing folder', async () => {
    const saved = await write('/root/work/infra/new.sh', 'echo hi\n', null);
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body.created).toBe(true);
    expect((await sh('stat -c "%a %u %g" /root/work/infra/new.sh')).trim()).toBe('644 0 0');
    const missing = await write('/root/work/nope/x.txt', 'x', null);
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe('OPSLAB_ERR_FILE_PATH');
    expect(missing.body.error.message).toContain('does not exist');
  });

  it('answers 409 with the current content when the file changed in the sandbox since it was loaded', async () => {
    const got = await read('/root/work/infra/main.tf');
    await sh('echo "# edited in the shell" >> /root/work/infra/main.tf');
    const res = await write('/root/work/infra/main.tf', 'mine\n', got.body.version);
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe('OPSLAB_ERR_FILE_CONFLICT');
    expect(res.body.current.content).toContain('# edited in the shell');
    expect(await sh('cat /root/work/infra/main.tf')).toContain('# edited in the shell');
    // Overwriting is a save with the current version.
    const again = await write('/root/work/infra/main.tf', 'mine\n', res.body.current.version);
    expect(again.status).toBe(200);
    expect(await sh('cat /root/work/infra/main.tf')).toBe('mine\n');
    // Creating over a file that appeared meanwhile is a conflict too.
    await sh('echo shell > /root/work/appeared.txt');
    const created = await write('/root/work/appeared.txt', 'editor\n', null);
    expect(created.status).toBe(409);
    expect(created.body.current.content).toBe('shell\n');
  });

  it('refuses binary, non-UTF-8 and oversized files with a clear message', async () => {
    await sh(
      'printf "a\\000b" > /root/work/bin.dat && printf "\\377\\376x" > /root/work/latin.txt && ' +
        `head -c ${FILE_LIMITS.maxFileBytes + 1} /dev/zero | tr "\\000" "x" > /root/work/big.txt`,
    );
    for (const [p, text] of [
      ['/root/work/bin.dat', 'binary'],
      ['/root/work/latin.txt', 'UTF-8'],
      ['/root/work/big.txt', 'KiB'],
    ] as const) {
      const res = await read(p);
      expect(res.status, p).toBe(422);
      expect(res.body.error.code).toBe('OPSLAB_ERR_FILE_UNSUPPORTED');
      expect(res.body.error.message).toContain(text);
    }
    // Saving over a binary file is refused too (its content is never replaced unseen).
    const over = await write('/root/work/bin.dat', 'text', null);
    expect(over.status).toBe(422);
    expect(await sh('od -c /root/work/bin.dat | head -1')).toContain('\\0');
    // A body past the limit never reaches the sandbox.
    const big = await write('/root/work/huge.txt', 'y'.repeat(FILE_LIMITS.maxFileBytes + 1), null);
    expect(big.status).toBe(400);
    const wide = await write('/root/work/wide.txt', 'é'.repeat(FILE_LIMITS.maxFileBytes / 2 + 1), null);
    expect(wide.status).toBe(422);
    expect((await sh('ls /root/work')).split('\n')).not.toContain('wide.txt');
  });

  it('refuses paths outside the roots, traversal and links', async () => {
    await sh('ln -s /etc /root/work/etc-link && mkdir -p /root/work/real && ln -s /root/work/real /root/work/inner-link');
    for (const p of [
      '/etc/shadow',
      '/root/work/../../etc/shadow',
      '/root/work/./ci.yml',
      '/root/work//ci.yml',
      'root/work/ci.yml',
      '/root/workshop/x',
      '/root/work',
      '/root/work/passwd-link',
      '/root/work/etc-link/shadow',
      '/root/work/inner-link/x',
    ]) {
      const res = await read(p);
      expect(res.status, `${p}: ${res.text}`).toBe(403);
      expect(res.body.error.code).toBe('OPSLAB_ERR_FILE_PATH');
      const w = await write(p, 'pwned\n', null);
      expect(w.status, `${p}: ${w.text}`).toBe(403);
    }
    expect(await sh('grep -c pwned /etc/shadow /etc/passwd /root/work/real/x 2>/dev/null || true')).not.toMatch(/:[1-9]/);
  });

  it('answers 401 without a token and 404 to another attempt’s token', async () => {
    expect((await files('')).status).toBe(401);
    expect((await read('/root/work/ci.yml', '')).status).toBe(401);
    expect((await write('/root/work/ci.yml', 'x', null, '')).status).toBe(401);
    expect((await files(b.token)).status).toBe(404);
    expect((await read('/root/work/ci.yml', b.token)).status).toBe(404);
    expect((await write('/root/work/ci.yml', 'x', null, b.token)).status).toBe(404);
    // A foreign Origin may not save.
    const foreign = await request(server.url, 'PUT', `/api/attempts/${a.id}/file`, { authorization: `Bearer ${a.token}`, origin: 'https://evil.example' }, { path: '/root/work/x', content: 'x', baseVersion: null });
    expect(foreign.status).toBe(403);
  });

  it('is off for an exercise that says `editor: false`', async () => {
    const exercise = server.services.catalog.get('shell-warmup')!;
    exercise.editor = false;
    try {
      const res = await files(b.token, b.id);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('OPSLAB_ERR_EDITOR_OFF');
    } finally {
      exercise.editor = true;
    }
  });

  it('answers 409 after the attempt ended', async () => {
    const submitted = await api(server.url, 'POST', `/api/attempts/${b.id}/submit`, b.token);
    expect(submitted.status, submitted.text).toBe(200);
    expect((await files(b.token, b.id)).status).toBe(409);
    expect((await read('/root/work/x', b.token, b.id)).status).toBe(409);
    const w = await write('/root/work/x', 'late', null, b.token, b.id);
    expect(w.status).toBe(409);
    expect(w.body.error.code).toBe('OPSLAB_ERR_ATTEMPT_STATE');
  });
});
