import type { Db } from './db.js';
import type { WebhookDeliveryStatus, WebhookEventType } from '../../../contract/webhooks.js';

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  /** Kept as given: the server signs with it (HMAC needs the secret itself, not a hash). */
  secret: string;
  events: WebhookEventType[];
  enabled: boolean;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  type: WebhookEventType;
  /** The exact bytes sent on every try (the signature covers them). */
  body: string;
  status: WebhookDeliveryStatus;
  tries: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  lastTryAt: number | null;
  nextTryAt: number | null;
  deliveredAt: number | null;
}

interface EndpointRow {
  id: string;
  url: string;
  description: string;
  secret: string;
  events: string;
  enabled: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  type: WebhookEventType;
  body: string;
  status: WebhookDeliveryStatus;
  tries: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  last_try_at: number | null;
  next_try_at: number | null;
  delivered_at: number | null;
}

const endpointFrom = (r: EndpointRow): WebhookEndpoint => ({
  id: r.id,
  url: r.url,
  description: r.description,
  secret: r.secret,
  events: JSON.parse(r.events) as WebhookEventType[],
  enabled: r.enabled === 1,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const deliveryFrom = (r: DeliveryRow): WebhookDelivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  eventId: r.event_id,
  type: r.type,
  body: r.body,
  status: r.status,
  tries: r.tries,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at,
  lastTryAt: r.last_try_at,
  nextTryAt: r.next_try_at,
  deliveredAt: r.delivered_at,
});

/** Webhook endpoints and their deliveries (the outbox the delivery worker sends from). */
export class WebhooksRepo {
  constructor(private readonly db: Db) {}

  // ---- endpoints ----------------------------------------------------------------------------------------------

  insertEndpoint(e: WebhookEndpoint): void {
    this.db
      .prepare(
        `INSERT INTO webhook_endpoints (id, url, description, secret, events, enabled, created_by, created_at, updated_at)
         VALUES (@id, @url, @description, @secret, @events, @enabled, @createdBy, @createdAt, @updatedAt)`,
      )
      .run({ ...e, events: JSON.stringify(e.events), enabled: e.enabled ? 1 : 0 });
  }

  getEndpoint(id: string): WebhookEndpoint | undefined {
    const row = this.db.prepare('SELECT * FROM webhook_endpoints WHERE id = ?').get(id) as EndpointRow | undefined;
    return row && endpointFrom(row);
  }

  listEndpoints(): WebhookEndpoint[] {
    return (this.db.prepare('SELECT * FROM webhook_endpoints ORDER BY created_at, id').all() as EndpointRow[]).map(endpointFrom);
  }

  updateEndpoint(id: string, patch: Partial<Pick<WebhookEndpoint, 'url' | 'description' | 'events' | 'enabled' | 'secret'>>): WebhookEndpoint | undefined {
    const current = this.getEndpoint(id);
    if (!current) return undefined;
    const next = { ...current, ...patch, updatedAt: Date.now() };
    this.db
      .prepare(
        `UPDATE webhook_endpoints SET url = @url, description = @description, secret = @secret, events = @events,
         enabled = @enabled, updated_at = @updatedAt WHERE id = @id`,
      )
      .run({ ...next, events: JSON.stringify(next.events), enabled: next.enabled ? 1 : 0 });
    return next;
  }

  /** Deletes the endpoint with its deliveries. */
  deleteEndpoint(id: string): boolean {
    return this.db.prepare('DELETE FROM webhook_endpoints WHERE id = ?').run(id).changes > 0;
  }

  /** Pending and failed deliveries per endpoint. */
  counts(): Map<string, { pending: number; failed: number }> {
    const rows = this.db
      .prepare(
        `SELECT endpoint_id, SUM(status = 'pending') AS pending, SUM(status = 'failed') AS failed
         FROM webhook_deliveries WHERE status != 'delivered' GROUP BY endpoint_id`,
      )
      .all() as { endpoint_id: string; pending: number; failed: number }[];
    return new Map(rows.map((r) => [r.endpoint_id, { pending: r.pending, failed: r.failed }]));
  }

  // ---- deliveries ---------------------------------------------------------------------------------------------

  /** Stores deliveries (one transaction: an event reaches all its endpoints' outboxes or none). */
  insertDeliveries(rows: Pick<WebhookDelivery, 'id' | 'endpointId' | 'eventId' | 'type' | 'body' | 'createdAt'>[]): void {
    const insert = this.db.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, type, body, status, tries, created_at, next_try_at)
       VALUES (@id, @endpointId, @eventId, @type, @body, 'pending', 0, @createdAt, @createdAt)`,
    );
    this.db.transaction(() => {
      for (const r of rows) insert.run(r);
    })();
  }

  getDelivery(id: string): WebhookDelivery | undefined {
    const row = this.db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row && deliveryFrom(row);
  }

  /** The endpoint's deliveries, newest first. */
  listDeliveries(endpointId: string, limit: number): WebhookDelivery[] {
    return (
      this.db
        .prepare('SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
        .all(endpointId, limit) as DeliveryRow[]
    ).map(deliveryFrom);
  }

  /** Pending deliveries due at `now` of enabled endpoints, the longest-waiting first, leaving out `skip`. */
  due(now: number, limit: number, skip: ReadonlySet<string>): WebhookDelivery[] {
    if (limit <= 0) return [];
    const rows = this.db
      .prepare(
        `SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.status = 'pending' AND e.enabled = 1 AND d.next_try_at <= ?
         ORDER BY d.next_try_at, d.rowid LIMIT ?`,
      )
      .all(now, limit + skip.size) as DeliveryRow[];
    return rows.filter((r) => !skip.has(r.id)).slice(0, limit).map(deliveryFrom);
  }

  /** When the next pending delivery of an enabled endpoint is due, leaving out `skip`; null when none is pending. */
  nextDue(skip: ReadonlySet<string>): number | null {
    const rows = this.db
      .prepare(
        `SELECT d.id, d.next_try_at AS at FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.status = 'pending' AND e.enabled = 1 ORDER BY d.next_try_at LIMIT ?`,
      )
      .all(skip.size + 1) as { id: string; at: number }[];
    return rows.find((r) => !skip.has(r.id))?.at ?? null;
  }

  /** Records a try: delivered, or failed for good, or pending again at `nextTryAt`. */
  recordTry(
    id: string,
    t: { at: number; status: WebhookDeliveryStatus; lastStatus: number | null; lastError: string | null; nextTryAt: number | null },
  ): void {
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET tries = tries + 1, status = @status, last_status = @lastStatus, last_error = @lastError,
         last_try_at = @at, next_try_at = @nextTryAt, delivered_at = CASE WHEN @status = 'delivered' THEN @at ELSE NULL END
         WHERE id = @id`,
      )
      .run({ id, ...t });
  }

  /** Makes a delivery pending again, due now (a re-send from the admin page); its tries start over. */
  resend(id: string, now: number): WebhookDelivery | undefined {
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET status = 'pending', tries = 0, next_try_at = ?, delivered_at = NULL WHERE id = ?`,
      )
      .run(now, id);
    return this.getDelivery(id);
  }

  /** Deletes deliveries that are done (delivered or failed) and were made before `cutoff`; returns how many. */
  purgeDoneBefore(cutoff: number): number {
    return this.db.prepare(`DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?`).run(cutoff).changes;
  }
}
