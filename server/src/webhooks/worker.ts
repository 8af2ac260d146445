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
/**
 * How long past a try's time limit a claimed delivery stays taken: a worker that died in the middle of a try (or
 * stalled far beyond its limit) leaves it due again after this.
 */
export const CLAIM_MARGIN_MS = 60_000;

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
 *
 * A delivery has at most one try in flight: one pass over the due deliveries runs at a time (a kick during a pass
 * makes another after it), a delivery being sent is left out of the next passes, and a try starts only once its
 * delivery was claimed with a conditional update (WebhooksRepo.claim), which one worker wins however many found it
 * due. The try is recorded only while that claim holds.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  private running = false;
  private abort = new AbortController();
  /** The pass under way, if any; `again` when it was kicked meanwhile. */
  private pass: Promise<void> | null = null;
  private again = false;
  private purging: Promise<void> | null = null;

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

  /**
   * Stops sending; tries in flight are cut off and not counted (their deliveries are given back, and the next start
   * sends them again). Resolves once nothing of the worker touches the database any more.
   */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.timer = this.purgeTimer = null;
    this.abort.abort();
    await this.pass;
    await Promise.allSettled([...this.inFlight.values()]);
    await this.purging;
  }

  /** Deliveries being sent right now. */
  get sending(): number {
    return this.inFlight.size;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.startPass();
    }, Math.max(0, delayMs));
    this.timer.unref();
  }

  private startPass(): void {
    if (!this.running) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.pump().finally(() => {
      this.pass = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** One pass: claims and starts the due deliveries there is room for, then sets the timer for the next. Never rejects. */
  private async pump(): Promise<void> {
    const { repo, config, log } = this.deps;
    try {
      const now = Date.now();
      const due = await repo.due(now, config.concurrency - this.inFlight.size, new Set(this.inFlight.keys()));
      for (const candidate of due) {
        if (!this.running || this.inFlight.size >= config.concurrency) break;
        if (this.inFlight.has(candidate.id)) continue;
        const heldUntil = Date.now() + config.timeoutMs + CLAIM_MARGIN_MS;
        const delivery = await repo.claim(candidate.id, now, heldUntil);
        // Taken by another worker, re-sent or deleted since it was read.
        if (!delivery) continue;
        const signal = this.abort.signal;
        const work = this.send(delivery, { dueAt: candidate.nextTryAt, heldUntil, signal })
          .catch((err: Error) => log.error({ deliveryId: delivery.id, err: err.message }, 'webhook delivery failed unexpectedly'))
          .finally(() => {
            this.inFlight.delete(delivery.id);
            this.kick();
          });
        this.inFlight.set(delivery.id, work);
      }
      if (!this.running || this.inFlight.size >= config.concurrency) return; // a finished send kicks again
      const next = await repo.nextDue(new Set(this.inFlight.keys()));
      if (!this.running) return;
      // Wake for the next due one; look again at least every minute (endpoints enabled meanwhile).
      this.schedule(next === null ? 60_000 : Math.min(60_000, next - Date.now()));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'webhook worker pass failed');
      if (this.running) this.schedule(5_000);
    }
  }

  /** One try of a claimed delivery. Not sent (endpoint disabled or gone, or stopping): given back, due as before. */
  private async send(delivery: WebhookDelivery, claim: { dueAt: number | null; heldUntil: number; signal: AbortSignal }): Promise<void> {
    const { repo, config, log } = this.deps;
    const { heldUntil, signal } = claim;
    const giveBack = async () => {
      await repo.release(delivery.id, heldUntil, claim.dueAt);
    };
    const endpoint = await repo.getEndpoint(delivery.endpointId);
    if (!endpoint || !endpoint.enabled || signal.aborted) return giveBack();
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
    if (signal.aborted) return giveBack();
    const tries = delivery.tries + 1;
    const at = Date.now();
    const delay = outcome.ok ? null : retryDelayMs(tries, config.retryBaseMs);
    const recorded = await repo.recordTry(
      delivery.id,
      outcome.ok
        ? { at, status: 'delivered', lastStatus: outcome.status, lastError: null, nextTryAt: null }
        : { at, status: delay === null ? 'failed' : 'pending', lastStatus: outcome.status, lastError: outcome.error, nextTryAt: delay === null ? null : at + delay },
      heldUntil,
    );
    if (!recorded) {
      // Re-sent from the admin page while this try ran (it is sent again), or deleted.
      log.info({ deliveryId: delivery.id, endpointId: endpoint.id }, 'webhook delivery changed during its try; the try is not recorded');
      return;
    }
    if (outcome.ok) return;
    log.warn(
      { deliveryId: delivery.id, endpointId: endpoint.id, tries, status: outcome.status, err: outcome.error },
      delay === null ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry',
    );
  }

  private purge(): void {
    if (this.purging) return;
    this.purging = this.purgeOnce().finally(() => (this.purging = null));
  }

  private async purgeOnce(): Promise<void> {
    try {
      const cutoff = Date.now() - this.deps.config.retentionDays * 24 * HOUR_MS;
      const purged = await this.deps.repo.purgeDoneBefore(cutoff);
      if (purged > 0) this.deps.log.info({ purged }, 'old webhook deliveries deleted');
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'webhook delivery purge failed');
    }
  }
}
