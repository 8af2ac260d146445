import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config.js';
import { checkTarget, parseWebhookUrl, refusedAddressReason, WebhookAddressError } from '../../server/src/webhooks/address.js';
import { signatureHeader, verifySignature, newWebhookSecret } from '../../server/src/webhooks/signature.js';
import { MAX_TRIES, retryDelayMs } from '../../server/src/webhooks/worker.js';
import { DomainEvents, type DomainEvent } from '../../server/src/webhooks/events.js';
import type { Attempt } from '../../server/src/store/attempts-repo.js';
import { sendWebhook } from '../../server/src/webhooks/sender.js';

describe('webhook address rules', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'private (shared address space)'],
    ['100.127.255.254', 'private (shared address space)'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'private (unique local)'],
    ['fdff:ffff::1', 'private (unique local)'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(refusedAddressReason(address)).toBe(reason);
  });

  it.each(['93.184.216.34', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '1.1.1.1'])(
    'allows public %s',
    (address) => {
      expect(refusedAddressReason(address)).toBeNull();
    },
  );

  it('parses URLs: http and https only, no credentials', () => {
    expect(parseWebhookUrl('https://ats.example.com/hooks/opslab?x=1#frag').href).toBe('https://ats.example.com/hooks/opslab?x=1');
    for (const bad of ['ftp://x.example/', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', 'https://u:p@x.example/']) {
      expect(() => parseWebhookUrl(bad)).toThrow(WebhookAddressError);
    }
  });

  it('refuses a name when any of its addresses is refused, and allows everything when told to', async () => {
    const mixed = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }];
    await expect(checkTarget('https://ats.example.test/', { allowPrivate: false, lookup: mixed })).rejects.toThrow(/10\.0\.0\.1, a private address/);
    expect(await checkTarget('https://ats.example.test/', { allowPrivate: true, lookup: mixed })).toMatchObject({ address: '93.184.216.34', hostname: 'ats.example.test' });
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    await expect(checkTarget('https://gone.example.test/', { allowPrivate: false, lookup: failing })).rejects.toThrow(/could not be resolved \(ENOTFOUND\)/);
  });
});

describe('webhook signatures and retries', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 and verifies within five minutes only', () => {
    const secret = newWebhookSecret();
    const body = '{"id":"evt_1","type":"attempt.graded"}';
    const header = signatureHeader(secret, body, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, body, header, 1_700_000_100)).toBe(true);
    expect(verifySignature(secret, body, header, 1_700_000_301)).toBe(false);
    expect(verifySignature(secret, `${body} `, header, 1_700_000_000)).toBe(false);
    expect(verifySignature('other-secret-000000', body, header, 1_700_000_000)).toBe(false);
  });

  it('backs off 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h (with jitter), then gives up after about a day', () => {
    const base = 30_000;
    const mid = () => 0.5;
    expect(Array.from({ length: MAX_TRIES - 1 }, (_, i) => retryDelayMs(i + 1, base, mid))).toEqual([
      30_000, 120_000, 600_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000,
    ]);
    expect(retryDelayMs(MAX_TRIES, base, mid)).toBeNull();
    expect(retryDelayMs(1, base, () => 0)).toBe(24_000);
    expect(retryDelayMs(1, base, () => 0.999999)).toBe(36_000);
  });

  it('reads its settings, with clear errors', () => {
    expect(loadConfig({}).webhooks).toEqual({ allowPrivate: false, timeoutMs: 10_000, retryBaseMs: 30_000, concurrency: 4, retentionDays: 30 });
    expect(loadConfig({ OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1', OPSLAB_WEBHOOK_RETRY_BASE_SECONDS: '0.5' }).webhooks).toMatchObject({ allowPrivate: true, retryBaseMs: 500 });
    expect(() => loadConfig({ OPSLAB_WEBHOOK_ALLOW_PRIVATE: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ OPSLAB_WEBHOOK_TIMEOUT_SECONDS: '0' })).toThrow(/OPSLAB_WEBHOOK_TIMEOUT_SECONDS/);
    expect(() => loadConfig({ OPSLAB_WEBHOOK_CONCURRENCY: '0' })).toThrow(/OPSLAB_WEBHOOK_CONCURRENCY/);
  });

  it('publishes to every subscriber; one that throws does not stop the others or the publisher', async () => {
    const failures: string[] = [];
    const events = new DomainEvents((err) => failures.push(err.message));
    const seen: DomainEvent['type'][] = [];
    events.subscribe(() => {
      throw new Error('broken subscriber');
    });
    events.subscribe((e) => void seen.push(e.type));
    await expect(events.publish({ type: 'review.saved', attemptId: 'a_1', attempt: {} as Attempt, reviewerId: 'u_1', review: { ratings: {}, recommendation: null, summary: '' } })).resolves.toBeUndefined();
    expect(seen).toEqual(['review.saved']);
    expect(failures).toEqual(['broken subscriber']);
  });

  it('counts a name that does not resolve against the time limit of the try', async () => {
    const t0 = Date.now();
    const outcome = await sendWebhook({
      url: 'https://slow-dns.example.test/hook',
      body: '{}',
      headers: {},
      timeoutMs: 200,
      allowPrivate: false,
      maxResponseBytes: 4096,
      lookup: () => new Promise(() => undefined),
    });
    expect(outcome).toMatchObject({ ok: false, status: null, address: null });
    expect(outcome.error).toMatch(/not resolved within 0.2 s/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
