import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../sandbox/notices.js';
import type { AttemptLease, LeasesRepo } from '../store/leases-repo.js';

export interface OwnershipDeps {
  leases: LeasesRepo;
  config: Pick<Config, 'replica' | 'dataDir' | 'databaseUrl'>;
  log: Logger;
  /** Sandboxes this replica holds that no attempt row counts: its warm pool, its gradings' containers. */
  reserved: () => number;
  /** Attempts this replica held and no longer does (another replica took them, or they were let go). */
  lost: (attemptIds: string[]) => void;
  /** An active attempt has no live owner: a reconcile pass takes it over. */
  orphaned: () => void;
}

/** Where an attempt's live parts (its shell, screen, recorder, deadline) are: here, at another replica, or nowhere. */
export type Whereabouts = { here: true } | { here: false; address: string } | { here: false; address: null };

const REPLICA_ID_FILE = 'replica-id';

/**
 * This server's part among the replicas that share a database. Each running attempt has one owner, named in its row
 * with a lease that runs out unless renewed (every third of OPSLAB_LEASE_SECONDS) and an epoch raised at every change
 * of owner (the fencing token: before a write that must happen once, the owner checks in the database that the epoch
 * it took is still the attempt's). The owner holds the attempt's shell, screen and recording and runs its deadline and
 * its final grading; when it stops renewing (it died), another replica takes the attempt over. On SQLite there is
 * one replica, which owns everything.
 */
export class Ownership {
  readonly id: string;
  /** This process: a second one under the same replica id is told apart by it. */
  readonly boot = randomBytes(8).toString('hex');
  /** The attempts this replica holds, with the epoch it took each under. */
  private readonly held = new Map<string, number>();
  /** When the leases were last renewed: past that plus the lease time, this replica owns nothing for sure. */
  private renewedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** SQLite: one process, which owns every attempt whatever its leases say. */
  private readonly single: boolean;

  constructor(private readonly deps: OwnershipDeps) {
    this.id = deps.config.replica.id ?? storedReplicaId(deps.config.dataDir);
    this.single = !deps.config.databaseUrl;
  }

  get leaseMs(): number {
    return this.deps.config.replica.leaseMs;
  }

  /** A lease taken now runs until then. */
  leaseUntil(now = Date.now()): number {
    return now + this.leaseMs;
  }

  /** Replicas seen since then are up. */
  liveSince(now = Date.now()): number {
    return now - this.leaseMs;
  }

  /**
   * Registers this replica (once a previous process under the same id has stopped renewing: a second live process
   * under one id is refused) and renews its leases from now on.
   */
  async start(): Promise<void> {
    const { leases, config, log } = this.deps;
    if (config.databaseUrl) {
      // Another process under this id: wait for it to stop renewing (a replica restarting after a crash), or refuse.
      const waitUntil = Date.now() + 2 * this.leaseMs;
      for (;;) {
        const other = await leases.replica(this.id);
        if (!other || other.seenAt < this.liveSince()) break;
        if (Date.now() > waitUntil) {
          throw new Error(
            `Another server is running as replica "${this.id}" (address ${other.address}). Give each replica its own OPSLAB_REPLICA_ID (or data directory).`,
          );
        }
        log.warn({ replica: this.id }, 'waiting for the previous process of this replica to stop renewing its leases');
        await new Promise((r) => setTimeout(r, Math.min(1000, this.leaseMs / 3)));
      }
    }
    const now = Date.now();
    await leases.register({ id: this.id, address: config.replica.internalUrl, boot: this.boot, startedAt: now, seenAt: now });
    this.renewedAt = now;
    // One process on SQLite owns everything for as long as it runs: nothing to renew or to watch for.
    if (this.single) return;
    this.timer = setInterval(() => void this.tick(), Math.max(250, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** Stops renewing; `release` lets every attempt go at once (a clean shutdown: another replica takes them). */
  async stop(opts: { release: boolean }): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    if (!opts.release) return;
    await this.deps.leases.release(this.id, [...this.held.keys()]).catch(() => undefined);
    await this.deps.leases.deregister(this.id, this.boot).catch(() => undefined);
    this.held.clear();
  }

  /** A start admitted by the database made this replica the attempt's owner under `epoch`. */
  hold(attemptId: string, epoch: number): void {
    this.held.set(attemptId, epoch);
  }

  /** The attempt is over here (archived, failed, deleted): no lease to renew. */
  forget(attemptId: string): void {
    this.held.delete(attemptId);
  }

  /** Whether this replica holds the attempt, as far as it knows without asking (its leases renewed in time). */
  owns(attemptId: string): boolean {
    return this.held.has(attemptId) && (this.single || Date.now() < this.renewedAt + this.leaseMs);
  }

  /**
   * Makes this replica the attempt's owner: when nobody holds it or its lease ran out (`lease` is its row as read, to
   * spare a read), or with `force` (the replica that ended the attempt grades it). True when this replica owns it.
   */
  async take(attemptId: string, opts: { force?: boolean; lease?: AttemptLease } = {}): Promise<boolean> {
    const now = Date.now();
    if (!opts.force) {
      if (this.owns(attemptId)) return true;
      const lease = opts.lease ?? (await this.deps.leases.lease(attemptId));
      if (!lease) return false;
      if (lease.owner !== null && lease.owner !== this.id && lease.leaseUntil !== null && lease.leaseUntil >= now) return false;
    }
    const epoch = await this.deps.leases.take(attemptId, this.id, now, this.leaseUntil(now), opts.force ? { force: true } : {});
    if (epoch === null) return false;
    this.held.set(attemptId, epoch);
    return true;
  }

  /** The fencing check, in the database: this replica still holds the attempt under the epoch it took it with. */
  async confirm(attemptId: string): Promise<boolean> {
    const epoch = this.held.get(attemptId);
    if (epoch === undefined) return false;
    return this.single || (await this.deps.leases.holds(attemptId, this.id, epoch, Date.now()));
  }

  /** Where the attempt's live parts are. */
  async whereabouts(attemptId: string): Promise<Whereabouts> {
    if (this.owns(attemptId)) return { here: true };
    const now = Date.now();
    const lease = await this.deps.leases.lease(attemptId);
    if (!lease || lease.owner === null || lease.leaseUntil === null || lease.leaseUntil < now) return { here: false, address: null };
    if (lease.owner === this.id) return { here: false, address: null };
    const owner = await this.deps.leases.replica(lease.owner);
    return owner && owner.seenAt >= this.liveSince(now) ? { here: false, address: owner.address } : { here: false, address: null };
  }

  /** The leases of every active attempt, and the replicas up now (a reconcile pass decides with them). */
  async survey(): Promise<{ leases: Map<string, AttemptLease>; live: Set<string> }> {
    const [leases, live] = await Promise.all([this.deps.leases.activeLeases(), this.deps.leases.live(this.liveSince())]);
    return { leases: new Map(leases.map((l) => [l.attemptId, l])), live: new Set(live.map((r) => r.id)) };
  }

  /** Whether another replica holds the lease now (a reconcile pass leaves such an attempt and its sandbox alone). */
  heldElsewhere(lease: AttemptLease | undefined, now = Date.now()): boolean {
    return !!lease && lease.owner !== null && lease.owner !== this.id && lease.leaseUntil !== null && lease.leaseUntil >= now;
  }

  /** Takes the named lease (a job one replica runs at a time) for `ms`; true when this replica holds it. */
  async acquire(name: string, ms: number): Promise<boolean> {
    if (this.single) return true;
    const now = Date.now();
    return this.deps.leases.acquire(name, this.id, now, now + ms);
  }

  private tick(): Promise<void> {
    if (!this.ticking) {
      this.ticking = this.renew()
        .catch((err: Error) => this.deps.log.error({ err: err.message }, 'lease renewal failed'))
        .finally(() => (this.ticking = null));
    }
    return this.ticking;
  }

  private async renew(): Promise<void> {
    const { leases, log } = this.deps;
    const now = Date.now();
    if (!(await leases.heartbeat(this.id, this.boot, now, this.deps.reserved()))) {
      // Removed by hand, or taken by a process that found this one silent: register again (its leases decide).
      log.warn({ replica: this.id }, 'this replica was missing from the list of replicas: registering again');
      await leases.register({ id: this.id, address: this.deps.config.replica.internalUrl, boot: this.boot, startedAt: now, seenAt: now });
    }
    const before = new Map(this.held);
    const kept = new Set(await leases.renew(this.id, before, this.leaseUntil(now)));
    this.renewedAt = now;
    const lost = [...before.keys()].filter((id) => !kept.has(id) && this.held.get(id) === before.get(id));
    for (const id of lost) this.held.delete(id);
    if (lost.length > 0) this.deps.lost(lost);
    // Any active attempt whose owner stopped renewing (or that has none) is taken over by a reconcile pass.
    const active = await leases.activeLeases();
    if (active.some((l) => l.owner === null || (l.owner !== this.id && (l.leaseUntil === null || l.leaseUntil < now)) || (l.owner === this.id && !this.held.has(l.attemptId)))) {
      this.deps.orphaned();
    }
  }
}

/** The replica id kept in the data directory: made at the first start, the same after every restart. */
function storedReplicaId(dataDir: string): string {
  const file = path.join(dataDir, REPLICA_ID_FILE);
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) return id;
  } catch {
    /* first start */
  }
  const id = `r-${randomBytes(5).toString('hex')}`;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
