import { placeholders, type Sql } from './sql.js';
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
  constructor(private readonly sql: Sql) {}

  /**
   * The order deliveries were stored in, for deliveries of the same millisecond: SQLite's rowid; PostgreSQL keeps no
   * such order, so its deliveries of one millisecond go by id there.
   */
  private get stored(): string {
    return this.sql.dialect === 'sqlite' ? 'rowid' : 'id';
  }

  // ---- endpoints ----------------------------------------------------------------------------------------------

  async insertEndpoint(e: WebhookEndpoint): Promise<void> {
    await this.sql.run(
      `INSERT INTO webhook_endpoints (id, url, description, secret, events, enabled, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [e.id, e.url, e.description, e.secret, JSON.stringify(e.events), e.enabled ? 1 : 0, e.createdBy, e.createdAt, e.updatedAt],
    );
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.sql.one<EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = ?', [id]);
    return row && endpointFrom(row);
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    return (await this.sql.all<EndpointRow>('SELECT * FROM webhook_endpoints ORDER BY created_at, id')).map(endpointFrom);
  }

  /** Changes the fields given (one statement: a concurrent change of other fields is kept); undefined when gone. */
  async updateEndpoint(
    id: string,
    patch: Partial<Pick<WebhookEndpoint, 'url' | 'description' | 'events' | 'enabled' | 'secret'>>,
  ): Promise<WebhookEndpoint | undefined> {
    const row = await this.sql.one<EndpointRow>(
      `UPDATE webhook_endpoints SET url = COALESCE(?, url), description = COALESCE(?, description), secret = COALESCE(?, secret),
         events = COALESCE(?, events), enabled = COALESCE(?, enabled), updated_at = ?
       WHERE id = ? RETURNING *`,
      [
        patch.url ?? null,
        patch.description ?? null,
        patch.secret ?? null,
        patch.events === undefined ? null : JSON.stringify(patch.events),
        patch.enabled === undefined ? null : patch.enabled ? 1 : 0,
        Date.now(),
        id,
      ],
    );
    return row && endpointFrom(row);
  }

  /** Deletes the endpoint with its deliveries. */
  async deleteEndpoint(id: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM webhook_endpoints WHERE id = ?', [id])) > 0;
  }

  /** Pending and failed deliveries per endpoint. */
  async counts(): Promise<Map<string, { pending: number; failed: number }>> {
    const rows = await this.sql.all<{ endpoint_id: string; pending: number; failed: number }>(
      `SELECT endpoint_id, SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
         SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed
       FROM webhook_deliveries WHERE status != 'delivered' GROUP BY endpoint_id`,
    );
    return new Map(rows.map((r) => [r.endpoint_id, { pending: r.pending, failed: r.failed }]));
  }

  // ---- deliveries ---------------------------------------------------------------------------------------------

  /**
   * Stores deliveries (one transaction: an event reaches all its endpoints' outboxes or none). A delivery to an
   * endpoint deleted meanwhile is left out (it would have gone with the endpoint); resolves with how many were stored.
   */
  async insertDeliveries(rows: Pick<WebhookDelivery, 'id' | 'endpointId' | 'eventId' | 'type' | 'body' | 'createdAt'>[]): Promise<number> {
    if (rows.length === 0) return 0;
    const endpointIds = [...new Set(rows.map((r) => r.endpointId))];
    return this.sql.transaction(async (tx) => {
      const present = new Set(
        (
          await tx.all<{ id: string }>(`SELECT id FROM webhook_endpoints WHERE id IN (${placeholders(endpointIds.length)})`, endpointIds)
        ).map((r) => r.id),
      );
      let stored = 0;
      for (const r of rows) {
        if (!present.has(r.endpointId)) continue;
        stored += await tx.run(
          `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, type, body, status, tries, created_at, next_try_at)
           VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
          [r.id, r.endpointId, r.eventId, r.type, r.body, r.createdAt, r.createdAt],
        );
      }
      return stored;
    });
  }

  async getDelivery(id: string): Promise<WebhookDelivery | undefined> {
    const row = await this.sql.one<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = ?', [id]);
    return row && deliveryFrom(row);
  }

  /** The endpoint's deliveries, newest first. */
  async listDeliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    const rows = await this.sql.all<DeliveryRow>(
      `SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY created_at DESC, ${this.stored} DESC LIMIT ?`,
      [endpointId, limit],
    );
    return rows.map(deliveryFrom);
  }

  /** Pending deliveries due at `now` of enabled endpoints, the longest-waiting first, leaving out `skip`. */
  async due(now: number, limit: number, skip: ReadonlySet<string>): Promise<WebhookDelivery[]> {
    if (limit <= 0) return [];
    const rows = await this.sql.all<DeliveryRow>(
      `SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE d.status = 'pending' AND e.enabled = 1 AND d.next_try_at <= ?
       ORDER BY d.next_try_at, d.${this.stored} LIMIT ?`,
      [now, limit + skip.size],
    );
    return rows.filter((r) => !skip.has(r.id)).slice(0, limit).map(deliveryFrom);
  }

  /**
   * Takes a delivery for one try, if it is still pending and due at `now` (a conditional update: of workers that
   * found it due at once, one gets it). Its next try is set to `heldUntil` meanwhile, so that it is not due to anyone
   * else while the try runs, and due again should the worker die in the middle. Resolves with the delivery as taken.
   */
  async claim(id: string, now: number, heldUntil: number): Promise<WebhookDelivery | undefined> {
    const row = await this.sql.one<DeliveryRow>(
      `UPDATE webhook_deliveries SET next_try_at = ? WHERE id = ? AND status = 'pending' AND next_try_at <= ? RETURNING *`,
      [heldUntil, id, now],
    );
    return row && deliveryFrom(row);
  }

  /** Gives a claimed delivery back untried, due at `nextTryAt` again; false when it was no longer held that way. */
  async release(id: string, heldUntil: number, nextTryAt: number | null): Promise<boolean> {
    const changed = await this.sql.run(
      `UPDATE webhook_deliveries SET next_try_at = ? WHERE id = ? AND status = 'pending' AND next_try_at = ?`,
      [nextTryAt, id, heldUntil],
    );
    return changed > 0;
  }

  /** When the next pending delivery of an enabled endpoint is due, leaving out `skip`; null when none is pending. */
  async nextDue(skip: ReadonlySet<string>): Promise<number | null> {
    const rows = await this.sql.all<{ id: string; at: number }>(
      `SELECT d.id, d.next_try_at AS at FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE d.status = 'pending' AND e.enabled = 1 ORDER BY d.next_try_at LIMIT ?`,
      [skip.size + 1],
    );
    return rows.find((r) => !skip.has(r.id))?.at ?? null;
  }

  /**
   * Records a try: delivered, or failed for good, or pending again at `nextTryAt`. With `heldUntil` (a try of a
   * claimed delivery), only while the claim still holds: not after a re-send or a claim by another worker since;
   * resolves with whether it was recorded.
   */
  async recordTry(
    id: string,
    t: { at: number; status: WebhookDeliveryStatus; lastStatus: number | null; lastError: string | null; nextTryAt: number | null },
    heldUntil?: number,
  ): Promise<boolean> {
    const set = `UPDATE webhook_deliveries SET tries = tries + 1, status = ?, last_status = ?, last_error = ?, last_try_at = ?,
         next_try_at = ?, delivered_at = ? WHERE id = ?`;
    const params = [t.status, t.lastStatus, t.lastError, t.at, t.nextTryAt, t.status === 'delivered' ? t.at : null, id];
    const changed =
      heldUntil === undefined
        ? await this.sql.run(set, params)
        : await this.sql.run(`${set} AND status = 'pending' AND next_try_at = ?`, [...params, heldUntil]);
    return changed > 0;
  }

  /** Makes a delivery pending again, due now (a re-send from the admin page); its tries start over. */
  async resend(id: string, now: number): Promise<WebhookDelivery | undefined> {
    const row = await this.sql.one<DeliveryRow>(
      `UPDATE webhook_deliveries SET status = 'pending', tries = 0, next_try_at = ?, delivered_at = NULL WHERE id = ? RETURNING *`,
      [now, id],
    );
    return row && deliveryFrom(row);
  }

  /** Deletes deliveries that are done (delivered or failed) and were made before `cutoff`; returns how many. */
  async purgeDoneBefore(cutoff: number): Promise<number> {
    return this.sql.run(`DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?`, [cutoff]);
  }
}
