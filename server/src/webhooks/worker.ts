import type { WebhookConfig } from '../config.js';
import type { Logger } from '../sandbox/notices.js';
import type { WebhookDelivery, WebhooksRepo } from '../store/webhooks-repo.js';
import { sendWebhook, type SendOutcome } from './sender.js';
import { signatureHeader } from './signature.js';
import type { Lookup } from './address.js';

/**
 * Delays before each retry, in units of the base delay (OPSLAB_WEBHOOK_RETRY_BASE_SECONDS, 30 s): 30 s, 2 min,
 * 10 min, 1 h, 3 h, 6 h, 12 h: eight tries over about 22 hours, then the delivery is marked failed.
 */
export const RETRY_STEPS = [1, 4, 20, 120, 360, 720, 1440] as const;
export const MAX_TRIES = RETRY_STEPS.length + 1;
/** Bytes of an answer read at most; the rest is never read. */
export const MAX_RESPONSE_BYTES = 4096;
const HOUR_MS = 3_600_000;

/** The delay before the retry after `tries` tries, with ±20 % jitter (so receivers that came back are not hit at once by all). */
export function retryDelayMs(tries: number, baseMs: number, random = Math.random): number | null {
  const step = RETRY_STEPS[tries - 1];
  if (step === undefined) return null;
  return Math.round(step * baseMs * (0.8 + 0.4 * random()));
}

export interface DeliveryWorkerDeps {
  repo: WebhooksRepo;
  config: WebhookConfig;
  log: Logger;
  /** Tests resolve names their own way; the system resolver otherwise. */
  lookup?: Lookup;
}

/**
 * Sends the stored deliveries in the background. The table is the queue: an event is delivered at least once,
 * across restarts (what was pending when the server stopped is sent by the next), never from the request that
 * caused it. At most `concurrency` sends at once; each try has a time limit. Done deliveries are purged after the
 * retention period.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  private running = false;
  private abort = new AbortController();

  constructor(private readonly deps: DeliveryWorkerDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.purge();
    this.purgeTimer = setInterval(() => this.purge(), HOUR_MS);
    this.purgeTimer.unref();
    this.kick();
  }

  /** Looks for due deliveries now (after an event was stored, a try ended, or a re-send). */
  kick(): void {
    if (!this.running) return;
    this.schedule(0);
  }

  /** Stops sending; tries in flight are cut off and not counted (the next start sends them again). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.timer = this.purgeTimer = null;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Deliveries being sent right now. */
  get sending(): number {
    return this.inFlight.size;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.max(0, delayMs));
    this.timer.unref();
  }

  private pump(): void {
    if (!this.running) return;
    const { repo, config, log } = this.deps;
    try {
      const due = repo.due(Date.now(), config.concurrency - this.inFlight.size, new Set(this.inFlight.keys()));
      for (const delivery of due) {
        const work = this.send(delivery)
          .catch((err: Error) => log.error({ deliveryId: delivery.id, err: err.message }, 'webhook delivery failed unexpectedly'))
          .finally(() => {
            this.inFlight.delete(delivery.id);
            this.kick();
          });
        this.inFlight.set(delivery.id, work);
      }
      if (this.inFlight.size >= config.concurrency) return; // a finished send kicks again
      const next = repo.nextDue(new Set(this.inFlight.keys()));
      // Wake for the next due one; look again at least every minute (endpoints enabled meanwhile).
      this.schedule(next === null ? 60_000 : Math.min(60_000, next - Date.now()));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'webhook worker pass failed');
      this.schedule(5_000);
    }
  }

  private async send(delivery: WebhookDelivery): Promise<void> {
    const { repo, config, log } = this.deps;
    const endpoint = repo.getEndpoint(delivery.endpointId);
    if (!endpoint || !endpoint.enabled) return;
    const signal = this.abort.signal;
    const outcome: SendOutcome = await sendWebhook({
      url: endpoint.url,
      body: delivery.body,
      headers: {
        'opslab-webhook-id': delivery.eventId,
        'opslab-webhook-type': delivery.type,
        'opslab-signature': signatureHeader(endpoint.secret, delivery.body, Math.floor(Date.now() / 1000)),
      },
      timeoutMs: config.timeoutMs,
      allowPrivate: config.allowPrivate,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      signal,
      lookup: this.deps.lookup,
    });
    // Cut off by a shutdown: not a try; the next server sends it again.
    if (signal.aborted) return;
    const tries = delivery.tries + 1;
    const at = Date.now();
    if (outcome.ok) {
      repo.recordTry(delivery.id, { at, status: 'delivered', lastStatus: outcome.status, lastError: null, nextTryAt: null });
      return;
    }
    const delay = retryDelayMs(tries, config.retryBaseMs);
    repo.recordTry(delivery.id, {
      at,
      status: delay === null ? 'failed' : 'pending',
      lastStatus: outcome.status,
      lastError: outcome.error,
      nextTryAt: delay === null ? null : at + delay,
    });
    log.warn(
      { deliveryId: delivery.id, endpointId: endpoint.id, tries, status: outcome.status, err: outcome.error },
      delay === null ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry',
    );
  }

  private purge(): void {
    try {
      const cutoff = Date.now() - this.deps.config.retentionDays * 24 * HOUR_MS;
      const purged = this.deps.repo.purgeDoneBefore(cutoff);
      if (purged > 0) this.deps.log.info({ purged }, 'old webhook deliveries deleted');
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'webhook delivery purge failed');
    }
  }
}
