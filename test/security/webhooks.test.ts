// Item 24, outgoing webhooks: the server makes requests to addresses admins choose, so it must not be turned into a
// way into the host's own network (loopback, the cloud metadata address, private ranges), whether at registration,
// by a redirect, or by a name that resolves elsewhere at delivery time (DNS rebinding); a receiver must not be able
// to make it read without bound or hold a connection forever; and a slow or hanging receiver must add nothing to
// the attempt lifecycle (an event is a row inserted; sending is the background worker's).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { repoRoot } from '../../server/src/paths.js';
import { openDatabase } from '../../server/src/store/db.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';
import { WebhooksRepo } from '../../server/src/store/webhooks-repo.js';
import { refusedAddressReason } from '../../server/src/webhooks/address.js';
import { sendWebhook } from '../../server/src/webhooks/sender.js';
import { DeliveryWorker, MAX_RESPONSE_BYTES } from '../../server/src/webhooks/worker.js';
import { api, attemptCookieToken, request } from '../helpers/api.js';
import { figure } from '../helpers/figures.js';
import { startTestServer, tempDataDir, type TestServer, useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const ITEM = '24 webhooks';
const EXERCISES = path.join(repoRoot(), 'test/fixtures/unit-exercises');
const quiet = { info() {}, warn() {}, error() {} };

/** A raw TCP-level HTTP server whose handler gets the socket: hangs, floods, redirects. */
async function rawServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const sockets = new Set<Socket>();
  let open = 0;
  let maxOpen = 0;
  const server = http.createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    open++;
    maxOpen = Math.max(maxOpen, open);
    s.on('close', () => {
      sockets.delete(s);
      open--;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    maxOpen: () => maxOpen,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const send = (url: string, extra: Partial<Parameters<typeof sendWebhook>[0]> = {}) =>
  sendWebhook({ url, body: '{"id":"evt_x"}', headers: {}, timeoutMs: 10_000, allowPrivate: true, maxResponseBytes: MAX_RESPONSE_BYTES, ...extra });

describe('item 24: webhooks cannot reach private addresses, read without bound, or slow an attempt down', () => {
  // The operator's default: private addresses refused.
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: EXERCISES } });
  let admin: StaffSession;

  beforeAll(async () => {
    admin = await staffSession(server, 'admin');
  });

  it('refuses loopback, private, link-local, metadata, unspecified and multicast endpoints at registration with a clear 400', async () => {
    const refused = [
      'http://127.0.0.1:9/hook',
      'http://127.1.2.3/',
      'http://10.0.0.5/hook',
      'http://172.16.3.4/',
      'http://192.168.1.10/',
      'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://[fe80::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[64:ff9b::a9fe:a9fe]/',
      'http://0.0.0.0/',
      'http://[::]/',
      'http://224.0.0.1/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://localhost:8080/hook',
      'https://localhost/',
      'ftp://example.com/',
      'http://user:pw@example.com/',
    ];
    let refusedCount = 0;
    for (const url of refused) {
      const res = await request(server.url, 'POST', '/api/manage/webhooks', admin.headers, { url, events: ['attempt.graded'] });
      expect(res.status, `${url}: ${res.text}`).toBe(400);
      expect(res.body.error.message.length).toBeGreaterThan(20);
      if (res.status === 400) refusedCount++;
    }
    const metadata = await request(server.url, 'POST', '/api/manage/webhooks', admin.headers, { url: 'http://169.254.169.254/', events: ['attempt.graded'] });
    expect(metadata.body.error.message).toMatch(/169\.254\.169\.254.*link-local.*OPSLAB_WEBHOOK_ALLOW_PRIVATE/);
    const local = await request(server.url, 'POST', '/api/manage/webhooks', admin.headers, { url: 'http://localhost/', events: ['attempt.graded'] });
    expect(local.body.error.message).toMatch(/localhost resolves to .*loopback/);
    // Nothing was stored.
    expect((await request(server.url, 'GET', '/api/manage/webhooks', admin.headers)).body.webhooks).toEqual([]);
    figure(ITEM, 'endpoints refused at registration (loopback, private, link-local, metadata, v4-mapped, NAT64, localhost, bad scheme)', `${refusedCount} of ${refused.length}`);

    // Public addresses pass the rule (not resolved or contacted here).
    for (const ok of ['93.184.216.34', '2606:4700::1111', '8.8.8.8']) expect(refusedAddressReason(ok)).toBeNull();
  });

  it('checks again at delivery and connects to the checked address: a name that now resolves to loopback reaches nothing', async () => {
    const receiver = await startReceiver();
    try {
      let lookups = 0;
      // The name resolved to a public address when it was registered; now it answers 127.0.0.1 (rebinding).
      const rebinding = async () => {
        lookups++;
        return [{ address: '127.0.0.1', family: 4 }];
      };
      const outcome = await send(`http://hooks.example.test:${receiver.port}/hook`, { allowPrivate: false, lookup: rebinding });
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(/loopback/);
      expect(outcome.address).toBeNull();
      expect(receiver.received).toHaveLength(0);
      figure(ITEM, 'requests reaching a loopback receiver through a name rebound to 127.0.0.1', receiver.received.length);

      // Allowed (an operator's own network): the connection goes to the address checked, resolved once, and the
      // Host header keeps the name.
      lookups = 0;
      const allowed = await send(`http://hooks.example.test:${receiver.port}/hook`, { allowPrivate: true, lookup: rebinding });
      expect(allowed).toMatchObject({ ok: true, status: 200, address: '127.0.0.1' });
      expect(lookups).toBe(1);
      expect(receiver.received[0]!.headers.host).toBe(`hooks.example.test:${receiver.port}`);
      figure(ITEM, 'name resolutions per try (the connection uses the checked address)', lookups);
    } finally {
      await receiver.close();
    }
  });

  it('follows no redirect, reads at most 4 KiB of an answer, and gives up on a hanging receiver at the time limit', async () => {
    const target = await startReceiver();
    const redirector = await rawServer((_req, res) => res.writeHead(302, { location: target.url }).end());
    let written = 0;
    const flood = await rawServer((req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (written < 50 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      req.resume();
      pump();
    });
    const hang = await rawServer(() => undefined);
    try {
      const redirected = await send(redirector.url);
      expect(redirected).toMatchObject({ ok: false, status: 302 });
      expect(redirected.error).toMatch(/redirects are not followed/);
      expect(target.received).toHaveLength(0);
      figure(ITEM, 'requests reaching the target of a 302 (redirects followed)', target.received.length);

      const flooded = await send(flood.url);
      expect(flooded.ok).toBe(false);
      expect(flooded.bytesRead).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
      await new Promise((r) => setTimeout(r, 200));
      expect(written).toBeLessThan(50 * 1024 * 1024);
      figure(ITEM, 'bytes of a 50 MiB answer read', flooded.bytesRead, 'B');
      figure(ITEM, 'bytes the flooding receiver could write before the connection closed (socket buffers)', written, 'B');

      const t0 = Date.now();
      const hung = await send(hang.url, { timeoutMs: 1000 });
      const took = Date.now() - t0;
      expect(hung).toMatchObject({ ok: false, status: null });
      expect(hung.error).toMatch(/no answer within 1 s/);
      expect(took).toBeLessThan(3000);
      figure(ITEM, 'a hanging receiver holds a try for (limit 1 s here, 10 s by default)', took, 'ms');
    } finally {
      await Promise.all([target.close(), redirector.close(), flood.close(), hang.close()]);
    }
  });

  it('bounds its own concurrency: 20 deliveries to a hanging receiver hold at most OPSLAB_WEBHOOK_CONCURRENCY connections', async () => {
    const hang = await rawServer(() => undefined);
    const dataDir = tempDataDir();
    const db = openDatabase(dataDir);
    const repo = new WebhooksRepo(sqliteSql(db));
    const config = { ...loadConfig({ OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1', OPSLAB_WEBHOOK_TIMEOUT_SECONDS: '2' }).webhooks, concurrency: 4 };
    const worker = new DeliveryWorker({ repo, config, log: quiet });
    try {
      const now = Date.now();
      await repo.insertEndpoint({ id: 'wh_00000000000000000001', url: hang.url, description: '', secret: 'whsec_test-secret-123456', events: ['attempt.graded'], enabled: true, createdBy: 'u_x', createdAt: now, updatedAt: now });
      await repo.insertDeliveries(
        Array.from({ length: 20 }, (_, i) => ({ id: `whd_${String(i).padStart(20, '0')}`, endpointId: 'wh_00000000000000000001', eventId: `evt_${i}`, type: 'attempt.graded' as const, body: '{}', createdAt: now })),
      );
      worker.start();
      await new Promise((r) => setTimeout(r, 1000));
      expect(worker.sending).toBe(4);
      expect(hang.maxOpen()).toBe(4);
      figure(ITEM, 'connections held at once by 20 deliveries to a hanging receiver (concurrency 4)', hang.maxOpen());
    } finally {
      await worker.stop();
      db.close();
      await hang.close();
    }
  });

  it('adds no time to the attempt lifecycle when the receiver hangs', async () => {
    const hanging = await rawServer(() => undefined);
    let allowServer: TestServer | undefined;
    try {
      // A long time limit per try: had the lifecycle waited for a delivery, it would show as 30 s and more.
      allowServer = await startTestServer({ env: { OPSLAB_EXERCISES_DIR: EXERCISES, OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1', OPSLAB_WEBHOOK_TIMEOUT_SECONDS: '30' } });
      const admin2 = await staffSession(allowServer, 'admin');
      const interviewer = await staffSession(allowServer, 'interviewer');
      const s = allowServer;
      const run = async () => {
        const inv = await request(s.url, 'POST', '/api/manage/invites', interviewer.headers, {
          exerciseId: 'graded-demo', candidateName: 'Casey', candidateEmail: 'casey@example.test', showFeedback: false,
        });
        const claim = new URL(inv.body.invite.link).hash.slice(1);
        const t0 = Date.now();
        const started = await request(s.url, 'POST', '/api/invite/start', { authorization: `Bearer ${claim}` });
        const startMs = Date.now() - t0;
        expect(started.status, started.text).toBe(201);
        const id = started.body.attempt.id;
        const t1 = Date.now();
        const submitted = await api(s.url, 'POST', `/api/attempts/${id}/submit`, attemptCookieToken(started.headers, id));
        expect(submitted.status, submitted.text).toBe(200);
        return { startMs, submitMs: Date.now() - t1 };
      };
      const none = await run();
      const hook = await request(s.url, 'POST', '/api/manage/webhooks', admin2.headers, {
        url: hanging.url,
        events: ['invite.started', 'attempt.submitted', 'attempt.expired', 'attempt.graded'],
      });
      expect(hook.status, hook.text).toBe(201);
      const hung = await run();
      // The receiver was holding the invite.started delivery while the attempt was submitted.
      expect(hanging.maxOpen()).toBeGreaterThanOrEqual(1);
      // A try waits up to 30 s here: had the lifecycle waited for one, it would take that long (a generous bound
      // for a loaded machine).
      expect(hung.submitMs).toBeLessThan(none.submitMs + 15_000);
      expect(hung.startMs).toBeLessThan(none.startMs + 15_000);
      figure(ITEM, 'invite start without a webhook / with a hanging receiver', `${none.startMs} / ${hung.startMs}`, 'ms');
      figure(ITEM, 'submit (with final grading) without a webhook / with a hanging receiver', `${none.submitMs} / ${hung.submitMs}`, 'ms');
    } finally {
      await allowServer?.destroy();
      await hanging.close();
    }
  });
});
