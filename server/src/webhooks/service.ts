import { randomBytes, randomUUID } from 'node:crypto';
import type { Auth } from '../auth/index.js';
import type { WebhookConfig } from '../config.js';
import { errors, OpslabError } from '../errors.js';
import { ERROR_CODES } from '../../../contract/errors.js';
import type { Logger } from '../sandbox/notices.js';
import type { WebhookDelivery, WebhookEndpoint, WebhooksRepo } from '../store/webhooks-repo.js';
import {
  WEBHOOK_LIMITS,
  type CreatedWebhook,
  type CreateWebhookBody,
  type UpdateWebhookBody,
  type WebhookDeliveryView,
  type WebhookPayload,
  type WebhookView,
} from '../../../contract/webhooks.js';
import { checkTarget, WebhookAddressError, type Lookup } from './address.js';
import type { DomainEvent, DomainEvents } from './events.js';
import { webhookEventOf, type WebhookEvent } from './payloads.js';
import { newWebhookSecret } from './signature.js';
import { DeliveryWorker } from './worker.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;

export interface WebhookServiceDeps {
  repo: WebhooksRepo;
  config: WebhookConfig;
  auth: Pick<Auth, 'audit' | 'userName'>;
  events: DomainEvents;
  log: Logger;
  lookup?: Lookup;
}

const notFound = () => new OpslabError(ERROR_CODES.notFound, 404, 'There is no such webhook.');
const deliveryNotFound = () => new OpslabError(ERROR_CODES.notFound, 404, 'There is no such delivery of this webhook.');

/**
 * Webhooks: admins register endpoints (a URL, a signing secret, the events it wants); the lifecycle's events are
 * stored as deliveries, one per subscribed endpoint, the moment they happen, and the delivery worker sends them
 * signed, in the background, with retries. Storing is all an event costs the request that caused it.
 */
export class WebhookService {
  readonly worker: DeliveryWorker;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.worker = new DeliveryWorker({ repo: deps.repo, config: deps.config, log: deps.log, lookup: deps.lookup });
    deps.events.subscribe((event, at) => this.record(event, at));
  }

  /** Starts sending (pending deliveries of an earlier run first). */
  start(): void {
    this.worker.start();
  }

  /**
   * Stops sending. Events keep being stored until the database closes (endings still in flight at shutdown): the
   * next start sends them.
   */
  async stop(): Promise<void> {
    await this.worker.stop();
  }

  /**
   * Stores the event's deliveries (one per enabled endpoint subscribed to it); the worker sends them. The publisher
   * waits for it, so the deliveries are stored when the request that caused the event answers; a failure is logged.
   */
  private async record(event: DomainEvent, at: number): Promise<void> {
    const hook = webhookEventOf(event);
    if (!hook) return;
    await this.store(hook, at).catch((err: Error) =>
      this.deps.log.error({ err: err.message, event: hook.type }, 'webhook event not stored'),
    );
  }

  private async store(hook: WebhookEvent, at: number): Promise<void> {
    const endpoints = (await this.deps.repo.listEndpoints()).filter((e) => e.enabled && e.events.includes(hook.type));
    if (endpoints.length === 0) return;
    const payload: WebhookPayload = { id: `evt_${randomUUID()}`, type: hook.type, createdAt: new Date(at).toISOString(), data: hook.data };
    const body = JSON.stringify(payload);
    await this.deps.repo.insertDeliveries(
      endpoints.map((e) => ({ id: newId('whd'), endpointId: e.id, eventId: payload.id, type: hook.type, body, createdAt: at })),
    );
    this.worker.kick();
  }

  private async view(e: WebhookEndpoint, counts: Map<string, { pending: number; failed: number }>): Promise<WebhookView> {
    const c = counts.get(e.id) ?? { pending: 0, failed: 0 };
    return {
      id: e.id,
      url: e.url,
      description: e.description,
      events: e.events,
      enabled: e.enabled,
      createdBy: { id: e.createdBy, name: (await this.deps.auth.userName(e.createdBy)) ?? 'unknown' },
      createdAt: iso(e.createdAt)!,
      updatedAt: iso(e.updatedAt)!,
      pending: c.pending,
      failed: c.failed,
    };
  }

  private async endpoint(id: string): Promise<WebhookEndpoint> {
    const e = await this.deps.repo.getEndpoint(id);
    if (!e) throw notFound();
    return e;
  }

  /** The URL, parsed and its host's addresses checked (400 with the reason otherwise). */
  private async checkedUrl(raw: string): Promise<string> {
    try {
      const { url } = await checkTarget(raw.trim(), { allowPrivate: this.deps.config.allowPrivate, lookup: this.deps.lookup });
      if (url.href.length > WEBHOOK_LIMITS.url) throw new WebhookAddressError(`The URL is longer than ${WEBHOOK_LIMITS.url} characters.`);
      return url.href;
    } catch (err) {
      if (err instanceof WebhookAddressError) throw errors.badRequest(err.message);
      throw err;
    }
  }

  async list(): Promise<WebhookView[]> {
    const counts = await this.deps.repo.counts();
    return Promise.all((await this.deps.repo.listEndpoints()).map((e) => this.view(e, counts)));
  }

  async get(id: string): Promise<WebhookView> {
    const e = await this.endpoint(id);
    return this.view(e, await this.deps.repo.counts());
  }

  async create(body: CreateWebhookBody, userId: string): Promise<CreatedWebhook> {
    const url = await this.checkedUrl(body.url);
    const now = Date.now();
    const endpoint: WebhookEndpoint = {
      id: newId('wh'),
      url,
      description: body.description?.trim() ?? '',
      secret: body.secret ?? newWebhookSecret(),
      events: [...body.events],
      enabled: body.enabled ?? true,
      createdBy: userId,
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.repo.insertEndpoint(endpoint);
    await this.deps.auth.audit({ userId, action: 'webhook.create', detail: { webhookId: endpoint.id, url, events: endpoint.events, secretGiven: body.secret !== undefined } });
    return { ...(await this.view(endpoint, await this.deps.repo.counts())), secret: endpoint.secret };
  }

  async update(id: string, body: UpdateWebhookBody, userId: string): Promise<WebhookView> {
    await this.endpoint(id);
    const url = body.url === undefined ? undefined : await this.checkedUrl(body.url);
    const updated = await this.deps.repo.updateEndpoint(id, {
      ...(url !== undefined ? { url } : {}),
      ...(body.events !== undefined ? { events: [...body.events] } : {}),
      ...(body.description !== undefined ? { description: body.description.trim() } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
    });
    if (!updated) throw notFound();
    await this.deps.auth.audit({ userId, action: 'webhook.update', detail: { webhookId: id, ...body } });
    // Enabled again: its pending deliveries are due.
    this.worker.kick();
    return this.view(updated, await this.deps.repo.counts());
  }

  /** A new generated secret, shown once; deliveries from now on are signed with it. */
  async rotateSecret(id: string, userId: string): Promise<CreatedWebhook> {
    await this.endpoint(id);
    const updated = await this.deps.repo.updateEndpoint(id, { secret: newWebhookSecret() });
    if (!updated) throw notFound();
    await this.deps.auth.audit({ userId, action: 'webhook.rotate-secret', detail: { webhookId: id } });
    return { ...(await this.view(updated, await this.deps.repo.counts())), secret: updated.secret };
  }

  async delete(id: string, userId: string): Promise<void> {
    const e = await this.endpoint(id);
    // Deleted by another request meanwhile: that one is audited.
    if (!(await this.deps.repo.deleteEndpoint(id))) throw notFound();
    await this.deps.auth.audit({ userId, action: 'webhook.delete', detail: { webhookId: id, url: e.url } });
  }

  async deliveries(id: string): Promise<WebhookDeliveryView[]> {
    await this.endpoint(id);
    return (await this.deps.repo.listDeliveries(id, WEBHOOK_LIMITS.logPage)).map(deliveryView);
  }

  /** Sends a delivery again (delivered or failed ones too), with the same event id, and its tries from zero. */
  async resend(id: string, deliveryId: string, userId: string): Promise<WebhookDeliveryView> {
    await this.endpoint(id);
    const d = await this.deps.repo.getDelivery(deliveryId);
    if (!d || d.endpointId !== id) throw deliveryNotFound();
    // Purged, or gone with its endpoint, meanwhile.
    const again = await this.deps.repo.resend(deliveryId, Date.now());
    if (!again) throw deliveryNotFound();
    await this.deps.auth.audit({ userId, action: 'webhook.resend', detail: { webhookId: id, deliveryId, eventId: d.eventId } });
    this.worker.kick();
    return deliveryView(again);
  }
}

function deliveryView(d: WebhookDelivery): WebhookDeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    type: d.type,
    status: d.status,
    tries: d.tries,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: iso(d.createdAt)!,
    lastTryAt: iso(d.lastTryAt),
    nextTryAt: d.status === 'pending' ? iso(d.nextTryAt) : null,
    deliveredAt: iso(d.deliveredAt),
  };
}
