// Who runs what when several servers share one database: the replicas that are up (each with the address the others
// reach it at), which replica owns each active attempt (a lease with an expiry and a fencing epoch), and leases on
// jobs only one replica may run at a time (the retention purge).
import { placeholders, type Sql } from './sql.js';

const ACTIVE = ['created', 'running', 'submitted', 'expired'] as const;
const ACTIVE_SQL = `state IN (${ACTIVE.map((s) => `'${s}'`).join(', ')})`;

export interface Replica {
  id: string;
  /** Where the other replicas reach it (OPSLAB_INTERNAL_URL). */
  address: string;
  /** A random id of the process: a second process under the same replica id is told apart by it. */
  boot: string;
  startedAt: number;
  seenAt: number;
  /** Sandboxes it holds that no attempt row counts (its warm pool, its gradings' containers), as of seenAt. */
  reserved: number;
}

export interface AttemptLease {
  attemptId: string;
  owner: string | null;
  /** Raised by one at every change of owner: a write made under an older epoch is a former owner's. */
  epoch: number;
  leaseUntil: number | null;
}

type ReplicaRow = { id: string; address: string; boot: string; started_at: number; seen_at: number; reserved: number };
const replicaFromRow = (r: ReplicaRow): Replica => ({
  id: r.id,
  address: r.address,
  boot: r.boot,
  startedAt: r.started_at,
  seenAt: r.seen_at,
  reserved: r.reserved,
});
type LeaseRow = { id: string; owner: string | null; owner_epoch: number; lease_until: number | null };
const leaseFromRow = (r: LeaseRow): AttemptLease => ({ attemptId: r.id, owner: r.owner, epoch: r.owner_epoch, leaseUntil: r.lease_until });

export class LeasesRepo {
  constructor(private readonly sql: Sql) {}

  // --- replicas

  /** Records the replica as up (a row of a previous process under the same id is replaced). */
  async register(replica: Omit<Replica, 'reserved'>): Promise<void> {
    await this.sql.run(
      `INSERT INTO replicas (id, address, boot, started_at, seen_at, reserved) VALUES (?, ?, ?, ?, ?, 0)
       ON CONFLICT (id) DO UPDATE SET address = excluded.address, boot = excluded.boot, started_at = excluded.started_at,
         seen_at = excluded.seen_at, reserved = 0`,
      [replica.id, replica.address, replica.boot, replica.startedAt, replica.seenAt],
    );
  }

  /** The replica is still up; false when its row now belongs to another process (or was removed). */
  async heartbeat(id: string, boot: string, now: number, reserved: number): Promise<boolean> {
    return (await this.sql.run('UPDATE replicas SET seen_at = ?, reserved = ? WHERE id = ? AND boot = ?', [now, reserved, id, boot])) === 1;
  }

  async replica(id: string): Promise<Replica | undefined> {
    const row = await this.sql.one<ReplicaRow>('SELECT * FROM replicas WHERE id = ?', [id]);
    return row ? replicaFromRow(row) : undefined;
  }

  /** Replicas seen at or after `since`. */
  async live(since: number): Promise<Replica[]> {
    return (await this.sql.all<ReplicaRow>('SELECT * FROM replicas WHERE seen_at >= ? ORDER BY id', [since])).map(replicaFromRow);
  }

  /** A replica that shut down cleanly: gone from the list at once. */
  async deregister(id: string, boot: string): Promise<void> {
    await this.sql.run('DELETE FROM replicas WHERE id = ? AND boot = ?', [id, boot]);
  }

  // --- attempt leases

  async lease(attemptId: string): Promise<AttemptLease | undefined> {
    const row = await this.sql.one<LeaseRow>('SELECT id, owner, owner_epoch, lease_until FROM attempts WHERE id = ?', [attemptId]);
    return row ? leaseFromRow(row) : undefined;
  }

  /** The leases of every attempt that still needs looking after. */
  async activeLeases(): Promise<AttemptLease[]> {
    return (await this.sql.all<LeaseRow>(`SELECT id, owner, owner_epoch, lease_until FROM attempts WHERE ${ACTIVE_SQL}`)).map(leaseFromRow);
  }

  /**
   * Takes the attempt for `owner` until `until`: only when nobody holds it, its lease ran out before `now`, or (with
   * `force`, for the replica that just ended it) in any case. Returns the new epoch, or null when it was not taken.
   */
  async take(attemptId: string, owner: string, now: number, until: number, opts: { force?: boolean } = {}): Promise<number | null> {
    const guard = opts.force ? '' : ' AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)';
    const row = await this.sql.one<{ owner_epoch: number }>(
      `UPDATE attempts SET owner = ?, owner_epoch = owner_epoch + 1, lease_until = ? WHERE id = ?${guard} RETURNING owner_epoch`,
      opts.force ? [owner, until, attemptId] : [owner, until, attemptId, owner, now],
    );
    return row ? row.owner_epoch : null;
  }

  /**
   * Extends every lease `owner` holds on an active attempt under the epochs it knows; returns the attempts whose
   * lease it still holds (the others were taken from it, or ended and let go).
   */
  async renew(owner: string, held: ReadonlyMap<string, number>, until: number): Promise<string[]> {
    if (held.size === 0) return [];
    const ids = [...held.keys()];
    const rows = await this.sql.all<{ id: string; owner_epoch: number }>(
      `UPDATE attempts SET lease_until = ? WHERE owner = ? AND ${ACTIVE_SQL} AND id IN (${placeholders(ids.length)})
       RETURNING id, owner_epoch`,
      [until, owner, ...ids],
    );
    return rows.filter((r) => held.get(r.id) === r.owner_epoch).map((r) => r.id);
  }

  /** Whether `owner` holds the attempt under `epoch` now (the fencing check before a write that must happen once). */
  async holds(attemptId: string, owner: string, epoch: number, now: number): Promise<boolean> {
    const row = await this.sql.one<{ n: number }>(
      'SELECT COUNT(*) AS n FROM attempts WHERE id = ? AND owner = ? AND owner_epoch = ? AND lease_until >= ?',
      [attemptId, owner, epoch, now],
    );
    return row!.n === 1;
  }

  /** Lets the attempts go at once (a clean shutdown): another replica takes them without waiting for the lease. */
  async release(owner: string, attemptIds: readonly string[]): Promise<void> {
    if (attemptIds.length === 0) return;
    await this.sql.run(`UPDATE attempts SET lease_until = 0 WHERE owner = ? AND id IN (${placeholders(attemptIds.length)})`, [
      owner,
      ...attemptIds,
    ]);
  }

  // --- named leases

  /**
   * Takes (or extends) the lease `name` for `owner` until `until` unless another owner holds it past `now`; true when
   * `owner` holds it now.
   */
  async acquire(name: string, owner: string, now: number, until: number): Promise<boolean> {
    const changed = await this.sql.run(
      `INSERT INTO named_leases (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE named_leases.owner = excluded.owner OR named_leases.expires_at < ?`,
      [name, owner, until, now],
    );
    return changed === 1;
  }
}
