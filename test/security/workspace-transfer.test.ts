// Item 27, files in and out of the workspace and the page's signals: uploads and downloads never follow a link,
// never leave the exercise's folders, stay within their size caps before reading large bodies, answer only to the
// attempt's own token, are off in interviews unless the invite allows them, are rate-limited, and the signal
// reports take only their small, strict shapes.
import { beforeAll, describe, expect, it } from 'vitest';
import { TRANSFER_LIMITS } from '../../contract/files.js';
import { SIGNAL_LIMITS } from '../../contract/signals.js';
import { api, attemptCookieToken, request, startAttempt } from '../helpers/api.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { readTarEntries } from '../helpers/tar.js';

const ITEM = '27 workspace transfer';

async function tarNames(gz: Buffer): Promise<{ name: string; type: string; linkname: string | null; body: string }[]> {
  return (await readTarEntries(gz)).map((e) => ({ name: e.name, type: e.type, linkname: e.linkname, body: e.body.toString('latin1') }));
}

describe(`security 27: files in and out of the workspace, and signals (${SANDBOX_RUNTIME})`, () => {
  // Sparse files would trip the disk quota's watch (disk.test.ts proves it): off here.
  const server = useTestServer({ env: { OPSLAB_SANDBOX_DISK_MB: '0' } });
  let a: { id: string; token: string };
  let other: { id: string; token: string };
  let sandboxId: string;

  const sh = async (cmd: string, id = sandboxId) => {
    const res = await server.services.driver.exec(id, ['sh', '-c', cmd]);
    expect(res.exitCode, res.stderr).toBe(0);
    return res.stdout;
  };
  const upload = async (p: string, bytes: Buffer, token = a.token, id = a.id) => {
    const res = await fetch(`${server.url}/api/attempts/${id}/upload?path=${encodeURIComponent(p)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    return { status: res.status, text: await res.text() };
  };
  const get = async (url: string, token = a.token) => {
    const started = performance.now();
    const res = await fetch(`${server.url}${url}`, { headers: { authorization: `Bearer ${token}` } });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, bytes, text: bytes.toString('latin1'), ms: performance.now() - started };
  };
  const download = (p: string, token = a.token, id = a.id) => get(`/api/attempts/${id}/download?path=${encodeURIComponent(p)}`, token);

  beforeAll(async () => {
    const started = await startAttempt(server.url, 'shell-warmup');
    a = { id: started.attempt.id, token: started.token };
    const second = await startAttempt(server.url, 'shell-warmup');
    other = { id: second.attempt.id, token: second.token };
    sandboxId = (await server.services.attempts.get(a.id))!.sandboxId!;
    await sh('mkdir -p /root/work && echo "ROOTSECRET:x:1:0:99999:7:::" >> /etc/shadow');
    await sh('mkdir -p /root/work && echo OTHER-ATTEMPT-SECRET > /root/work/mine.txt', (await server.services.attempts.get(other.id))!.sandboxId!);
  });

  it('never uploads or downloads through a link, a linked parent, `..` or outside the roots; the tarball keeps links as links', async () => {
    await sh('cd /root/work && ln -s /etc/shadow shadow && ln -s /etc etc && ln -s ../../etc up && mkdir -p deep/a && ln -s /etc deep/a/b && ln -s shadow chain');
    const shadowBefore = await sh('sha256sum /etc/shadow');
    const paths = [
      '/root/work/shadow',
      '/root/work/chain',
      '/root/work/etc/shadow',
      '/root/work/up/shadow',
      '/root/work/deep/a/b/shadow',
      '/root/work/../../etc/shadow',
      '/root/work/deep/../../../etc/shadow',
      '/etc/shadow',
      '/proc/1/root/etc/shadow',
      '/root/work/\u0000/etc/shadow',
    ];
    let refusedUploads = 0;
    let refusedDownloads = 0;
    let leaked = 0;
    for (const p of paths) {
      const up = await upload(p, Buffer.from('ROOTSECRET-overwritten\n'));
      if (up.status >= 400 && up.status < 500) refusedUploads++;
      const down = await download(p);
      if (down.status >= 400 && down.status < 500) refusedDownloads++;
      if (down.text.includes('ROOTSECRET')) leaked++;
    }
    const shadowAfter = await sh('sha256sum /etc/shadow');
    const written = Number((await sh('grep -rl "ROOTSECRET-overwritten" /etc /root 2>/dev/null | wc -l || true')).trim());
    figure(ITEM, 'link/traversal uploads refused', `${refusedUploads}/${paths.length}`);
    figure(ITEM, 'link/traversal downloads refused', `${refusedDownloads}/${paths.length}`);
    figure(ITEM, 'answers holding /etc/shadow', leaked);
    figure(ITEM, 'files written through a link', written);
    expect(refusedUploads).toBe(paths.length);
    expect(refusedDownloads).toBe(paths.length);
    expect(leaked).toBe(0);
    expect(written).toBe(0);
    expect(shadowAfter).toBe(shadowBefore);

    const tar = await get(`/api/attempts/${a.id}/workspace.tar.gz`);
    expect(tar.status).toBe(200);
    const entries = await tarNames(tar.bytes);
    const holdingSecret = entries.filter((e) => e.body.includes('ROOTSECRET')).length;
    const outside = entries.filter((e) => !e.name.startsWith('root/work') || e.name.includes('..')).length;
    const links = entries.filter((e) => e.type === 'symlink');
    const belowLinks = entries.filter((e) => links.some((l) => e.name.startsWith(`${l.name}/`))).length;
    figure(ITEM, 'tarball entries holding /etc/shadow', holdingSecret);
    figure(ITEM, 'tarball entries outside the roots', outside);
    figure(ITEM, 'tarball links kept as links', `${links.length}/5`);
    figure(ITEM, 'tarball entries below a link', belowLinks);
    expect(holdingSecret).toBe(0);
    expect(outside).toBe(0);
    expect(links.length).toBe(5);
    expect(belowLinks).toBe(0);
  });

  it('answers only to the attempt’s own token', async () => {
    const probes = [
      await upload('/root/work/mine.txt', Buffer.from('overwritten by another attempt\n'), a.token, other.id),
      await download('/root/work/mine.txt', a.token, other.id),
      await get(`/api/attempts/${other.id}/workspace.tar.gz`, a.token),
      await api(server.url, 'POST', `/api/attempts/${other.id}/signals`, a.token, { kind: 'back' }),
    ];
    const refused = probes.filter((r) => r.status === 404).length;
    const leaked = probes.filter((r) => ('text' in r ? r.text : '').includes('OTHER-ATTEMPT-SECRET')).length;
    figure(ITEM, "another attempt's token: refused", `${refused}/${probes.length}`);
    figure(ITEM, "another attempt's files in answers", leaked);
    expect(refused).toBe(probes.length);
    expect(leaked).toBe(0);
    expect(await sh('cat /root/work/mine.txt', (await server.services.attempts.get(other.id))!.sandboxId!)).toBe('OTHER-ATTEMPT-SECRET\n');
  });

  it('caps sizes before reading large bodies: a sparse 1 TiB file and an oversized upload', async () => {
    await sh('truncate -s 1T /root/work/huge.bin');
    const file = await download('/root/work/huge.bin');
    const tar = await get(`/api/attempts/${a.id}/workspace.tar.gz`);
    const up = await upload('/root/work/big.bin', Buffer.alloc(TRANSFER_LIMITS.maxUploadBytes + 1, 7));
    figure(ITEM, 'download of a 1 TiB sparse file', `${file.status} in ${Math.round(file.ms)} ms`);
    figure(ITEM, 'tarball with a 1 TiB sparse file', `${tar.status} in ${Math.round(tar.ms)} ms`);
    figure(ITEM, `upload of ${TRANSFER_LIMITS.maxUploadBytes + 1} bytes`, up.status);
    expect(file.status).toBe(413);
    expect(tar.status).toBe(413);
    expect(file.ms).toBeLessThan(10_000);
    expect(tar.ms).toBeLessThan(10_000);
    expect(up.status).toBe(413);
    // Asked by name rather than by listing the folder: under gVisor, listing a folder that holds a 1 TiB sparse file
    // fails inside the sandbox (EINVAL from gVisor's kernel), which is no finding about opslab.
    expect(await sh('test -e /root/work/big.bin && echo present || echo absent')).toBe('absent\n');
    await sh('rm /root/work/huge.bin');
  });

  it('is off in interviews unless the invite allows it', async () => {
    const staff = await staffSession(server, 'interviewer');
    const created = await request(server.url, 'POST', '/api/manage/invites', staff.headers, {
      exerciseId: 'shell-warmup', candidateName: 'Casey', candidateEmail: 'casey@example.test', showFeedback: false,
    });
    const claim = new URL(created.body.invite.link).hash.slice(1);
    const started = await api(server.url, 'POST', '/api/invite/start', claim);
    const id = started.body.attempt.id as string;
    const token = attemptCookieToken(started.headers, id);
    const probes = [
      await upload('/root/work/x.txt', Buffer.from('x'), token, id),
      await download('/root/work/x.txt', token, id),
      await get(`/api/attempts/${id}/workspace.tar.gz`, token),
    ];
    const refused = probes.filter((r) => r.status === 403).length;
    figure(ITEM, 'interview, invite not allowing it: refused', `${refused}/${probes.length}`);
    expect(refused).toBe(probes.length);
  });

  it('rate-limits uploads, downloads and reports', async () => {
    // A fresh attempt: the tests above used some of the minute's budget.
    const fresh = await startAttempt(server.url, 'shell-warmup');
    const c = { id: fresh.attempt.id, token: fresh.token };
    let uploaded = 0;
    let upRefused = 0;
    for (let i = 0; i < TRANSFER_LIMITS.uploadsPerMinute + 3; i++) {
      const r = await upload(`/root/work/n${i}.txt`, Buffer.from(`${i}\n`), c.token, c.id);
      if (r.status === 200) uploaded++;
      else if (r.status === 429) upRefused++;
    }
    let downloaded = 0;
    let downRefused = 0;
    for (let i = 0; i < TRANSFER_LIMITS.downloadsPerMinute + 3; i++) {
      const r = await download('/root/work/n0.txt', c.token, c.id);
      if (r.status === 200) downloaded++;
      else if (r.status === 429) downRefused++;
    }
    let reported = 0;
    let reportsRefused = 0;
    let badRefused = 0;
    const bad = [{ kind: 'paste', target: 'terminal', chars: 10 }, { kind: 'paste', target: 'terminal', chars: 500, text: 'the paste itself' }, { kind: 'away', cause: 'x' }, { kind: 'other' }];
    for (const body of bad) if ((await api(server.url, 'POST', `/api/attempts/${other.id}/signals`, other.token, body)).status === 400) badRefused++;
    for (let i = 0; i < SIGNAL_LIMITS.reportsPerMinute + 5; i++) {
      const r = await api(server.url, 'POST', `/api/attempts/${other.id}/signals`, other.token, { kind: 'paste', target: 'terminal', chars: 1000 });
      if (r.status === 200) reported++;
      else if (r.status === 429) reportsRefused++;
    }
    figure(ITEM, `uploads in a minute (${TRANSFER_LIMITS.uploadsPerMinute + 3} tried)`, `${uploaded} stored, ${upRefused} refused 429`);
    figure(ITEM, `downloads in a minute (${TRANSFER_LIMITS.downloadsPerMinute + 3} tried)`, `${downloaded} sent, ${downRefused} refused 429`);
    figure(ITEM, 'malformed reports refused 400', `${badRefused}/${bad.length}`);
    figure(ITEM, `reports in a minute (${SIGNAL_LIMITS.reportsPerMinute + 5} tried)`, `${reported} recorded, ${reportsRefused} refused 429`);
    expect(uploaded).toBe(TRANSFER_LIMITS.uploadsPerMinute);
    expect(upRefused).toBe(3);
    expect(downloaded).toBe(TRANSFER_LIMITS.downloadsPerMinute);
    expect(downRefused).toBe(3);
    expect(badRefused).toBe(bad.length);
    expect(reported).toBe(SIGNAL_LIMITS.reportsPerMinute);
    expect(reportsRefused).toBe(5);
  });
});
