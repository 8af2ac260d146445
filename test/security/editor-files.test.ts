// Item 26, the workspace editor: reading and saving through the server never follows a candidate's link, never
// leaves the exercise's folders, refuses binary and oversized files, and stays bounded (rate, bytes read).
import { beforeAll, describe, expect, it } from 'vitest';
import { FILE_LIMITS } from '../../contract/files.js';
import { api, startAttempt } from '../helpers/api.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';

const ITEM = '26 editor files';

describe(`security 26: the editor's file access (${SANDBOX_RUNTIME})`, () => {
  // The disk quota's watch counts a sparse file at its full size and would stop the sandbox under the listing test
  // (disk.test.ts proves the quota): off here.
  const server = useTestServer({ env: { OPSLAB_SANDBOX_DISK_MB: '0' } });
  let a: { id: string; token: string };
  let sandboxId: string;

  const sh = async (cmd: string) => {
    const res = await server.services.driver.exec(sandboxId, ['sh', '-c', cmd]);
    expect(res.exitCode, res.stderr).toBe(0);
    return res.stdout;
  };
  const read = (p: string) => api(server.url, 'GET', `/api/attempts/${a.id}/file?path=${encodeURIComponent(p)}`, a.token);
  const write = (p: string, content: string, baseVersion: string | null = null) =>
    api(server.url, 'PUT', `/api/attempts/${a.id}/file`, a.token, { path: p, content, baseVersion });

  beforeAll(async () => {
    const started = await startAttempt(server.url, 'shell-warmup');
    a = { id: started.attempt.id, token: started.token };
    sandboxId = (await server.services.attempts.get(a.id))!.sandboxId!;
    await sh('mkdir -p /root/work && echo "ROOTSECRET:x:1:0:99999:7:::" >> /etc/shadow');
  });

  it('never reads or writes through a link, a linked parent, `..` or a path outside the roots', async () => {
    await sh(
      'cd /root/work && ln -s /etc/shadow shadow && ln -s /etc etc && ln -s ../../etc up && mkdir -p deep/a && ' +
        'ln -s /etc deep/a/b && ln -s shadow chain',
    );
    const shadowBefore = await sh('sha256sum /etc/shadow');
    const attempts = [
      '/root/work/shadow', // a link to /etc/shadow
      '/root/work/chain', // a link to a link
      '/root/work/etc/shadow', // a linked parent (absolute)
      '/root/work/up/shadow', // a linked parent (relative, climbing out)
      '/root/work/deep/a/b/shadow', // a linked parent further down
      '/root/work/../../etc/shadow',
      '/root/work/%2e%2e/%2e%2e/etc/shadow',
      '/root/work/deep/../../../etc/shadow',
      '/etc/shadow',
      '/proc/1/root/etc/shadow',
      '/root/work/\u0000/etc/shadow',
    ];
    let refusedReads = 0;
    let refusedWrites = 0;
    let leaked = 0;
    for (const p of attempts) {
      const r = await read(p);
      if (r.status >= 400 && r.status < 500) refusedReads++;
      if (r.text.includes('ROOTSECRET')) leaked++;
      const w = await write(p, 'ROOTSECRET-overwritten\n');
      if (w.status >= 400 && w.status < 500) refusedWrites++;
      if (w.text.includes('ROOTSECRET:x')) leaked++;
    }
    const shadowAfter = await sh('sha256sum /etc/shadow');
    const landed = Number((await sh('grep -rl ROOTSECRET-overwritten /etc /root 2>/dev/null | wc -l')).trim());
    figure(ITEM, 'link/traversal reads refused', `${refusedReads}/${attempts.length}`);
    figure(ITEM, 'link/traversal writes refused', `${refusedWrites}/${attempts.length}`);
    figure(ITEM, 'answers holding /etc/shadow', leaked);
    figure(ITEM, 'files written through a link', landed);
    expect(refusedReads).toBe(attempts.length);
    expect(refusedWrites).toBe(attempts.length);
    expect(leaked).toBe(0);
    expect(landed).toBe(0);
    expect(shadowAfter).toBe(shadowBefore);
    // The links themselves are untouched: still links, to where they pointed.
    expect((await sh('readlink /root/work/shadow /root/work/etc')).split('\n').slice(0, 2)).toEqual(['/etc/shadow', '/etc']);
  });

  it('lists a workspace that is itself a link as empty, and links in the tree as links', async () => {
    const tree = await api(server.url, 'GET', `/api/attempts/${a.id}/files`, a.token);
    expect(tree.status).toBe(200);
    const etc = tree.body.entries.find((e: { path: string }) => e.path === '/root/work/etc');
    expect(etc).toMatchObject({ type: 'symlink', linkTarget: '/etc' });
    // Nothing under the link is listed.
    expect(tree.body.entries.some((e: { path: string }) => e.path.startsWith('/root/work/etc/'))).toBe(false);
    await sh('mv /root/work /root/work.real && ln -s /etc /root/work');
    try {
      const swapped = await api(server.url, 'GET', `/api/attempts/${a.id}/files`, a.token);
      expect(swapped.status).toBe(200);
      expect(swapped.body.entries).toEqual([]);
      const r = await read('/root/work/shadow');
      expect(r.status).toBe(403);
      expect(r.text).not.toContain('ROOTSECRET');
      figure(ITEM, 'workspace swapped for a link: entries listed', swapped.body.entries.length);
    } finally {
      await sh('rm /root/work && mv /root/work.real /root/work');
    }
  });

  it('bounds what a listing reads (a 1 TiB sparse file) and what a read keeps', async () => {
    await sh('truncate -s 1T /root/work/sparse.img');
    const started = performance.now();
    const tree = await api(server.url, 'GET', `/api/attempts/${a.id}/files`, a.token);
    const ms = performance.now() - started;
    expect(tree.status).toBe(200);
    expect(tree.body.truncated).toBe(true);
    const opened = await read('/root/work/sparse.img');
    expect(opened.status).toBe(422);
    figure(ITEM, 'tree with a 1 TiB sparse file', Math.round(ms), 'ms');
    figure(ITEM, 'opening it', opened.status);
    expect(ms).toBeLessThan(30_000);
    await sh('rm /root/work/sparse.img');
  });

  it('refuses binary files and bodies past the limit, and limits the rate of saves', async () => {
    await sh('head -c 4096 /dev/urandom > /root/work/random.bin');
    expect((await read('/root/work/random.bin')).status).toBe(422);
    const tooBig = await write('/root/work/big.txt', 'x'.repeat(FILE_LIMITS.maxFileBytes + 1));
    expect(tooBig.status).toBe(400);
    // A fresh attempt: the saves refused above counted against the first one's minute.
    const fresh = await startAttempt(server.url, 'shell-warmup');
    const freshRead = (p: string) => api(server.url, 'GET', `/api/attempts/${fresh.attempt.id}/file?path=${encodeURIComponent(p)}`, fresh.token);
    const freshWrite = (p: string, content: string, baseVersion: string | null) =>
      api(server.url, 'PUT', `/api/attempts/${fresh.attempt.id}/file`, fresh.token, { path: p, content, baseVersion });
    let ok = 0;
    let limited = 0;
    let retryAfter = '';
    for (let i = 0; i < FILE_LIMITS.savesPerMinute + 5; i++) {
      const current = await freshRead('/root/work/counter.txt');
      const res = await freshWrite('/root/work/counter.txt', `${i}\n`, current.status === 200 ? current.body.version : null);
      if (res.status === 200) ok++;
      else if (res.status === 429) {
        limited++;
        retryAfter = res.headers.get('retry-after') ?? '';
      }
    }
    figure(ITEM, `saves in a minute (${FILE_LIMITS.savesPerMinute + 5} tried)`, `${ok} saved, ${limited} refused 429`);
    expect(ok).toBe(FILE_LIMITS.savesPerMinute);
    expect(limited).toBe(5);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
