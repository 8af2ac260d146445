import os from 'node:os';
import path from 'node:path';
import { CAPABILITY_ALLOWLIST, type SandboxPolicyConfig } from './hardening.js';
import { displayGitUrl, parseGitSources, type GitSourceSpec } from './git-url.js';
import { ConfigError, databaseUrl, int, num, str, type Env } from './config-env.js';
import { signIn, type OidcConfig } from './config-sign-in.js';
import { replicaConfig, type ReplicaConfig } from './config-replica.js';

export type { SandboxPolicyConfig } from './hardening.js';
export { ConfigError } from './config-env.js';
export { signIn, type OidcConfig } from './config-sign-in.js';
export type { ReplicaConfig } from './config-replica.js';

/** The one typed configuration, read from the environment once. Every variable is listed in README.md. */
export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  /** OPSLAB_DATABASE_URL: PostgreSQL (replicas share it); null for the SQLite file in dataDir. */
  databaseUrl: string | null;
  exercisesDir: string;
  webDir: string;
  allowedOrigins: string[];
  /**
   * Which peers' X-Forwarded-For is believed (Fastify's trustProxy): false (none: the peer's address is the
   * client's), or a list of proxy addresses and CIDR ranges. Behind a TLS proxy on the same host: `127.0.0.1`.
   */
  trustProxy: false | string[];
  logLevel: string;
  maxSandboxes: number;
  reconcileIntervalMs: number;
  /** This server among the replicas that share a PostgreSQL database (one process on SQLite). */
  replica: ReplicaConfig;
  recordingMaxBytes: number;
  /** Finished attempts (with recordings, snapshots and the candidate's details) are deleted this long after they end; 0 keeps them. */
  retentionDays: number;
  practice: PracticeConfig;
  sandbox: SandboxPolicyConfig;
  warmPool: WarmPoolConfig;
  /** What an invite's landing page tells the candidate before they start (OPSLAB_INVITE_LANDING). */
  inviteLanding: InviteLanding;
  /** The most a stored snapshot of an attempt's files keeps in all; past it files are kept empty, with a note. */
  snapshotMaxBytes: number;
  dataBudget: DataBudgetConfig;
  grading: GradingConfig;
  webhooks: WebhookConfig;
  /** Staff sign-in through an OpenID Connect provider (server/src/auth/oidc.ts); null when not configured. */
  oidc: OidcConfig | null;
  /** Whether staff may sign in with a password (OPSLAB_PASSWORD_LOGIN); the first admin's setup link always works. */
  passwordLogin: boolean;
  /** Exercises from git repositories (server/src/exercises/git-source.ts, publish.ts). */
  exercisesGit: ExercisesGitConfig;
}

/** OPSLAB_EXERCISES_GIT*: the repositories, how often they are fetched, the limits of a fetch, the self-test's size. */
export interface ExercisesGitConfig {
  sources: GitSourceSpec[];
  /** Between two fetches of every repository; 0: only at start. */
  intervalMs: number;
  /** A fetch and checkout may take this long. */
  timeoutMs: number;
  /** A clone may not grow past this. */
  maxBytes: number;
  /** Seeds of the self-test a new version passes before it is published. */
  selfTestSeeds: number;
  /** Sandboxes one self-test runs at once (one exercise is self-tested at a time). */
  selfTestParallel: number;
}

/** Outgoing webhooks (server/src/webhooks/). */
export interface WebhookConfig {
  /** Whether endpoints may be on loopback, link-local, private, unspecified or multicast addresses. */
  allowPrivate: boolean;
  /** The time limit of one try, from connecting to the last byte read. */
  timeoutMs: number;
  /** The first retry's delay; later ones grow from it (30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h at the default). */
  retryBaseMs: number;
  /** Deliveries sent at once. */
  concurrency: number;
  /** Delivered and failed deliveries are deleted this many days after they were made. */
  retentionDays: number;
}

/** The grading queue (server/src/grading/queue.ts): every grading of the server goes through it. */
export interface GradingConfig {
  /** Gradings at once, each with its grader and at most one clean room (two containers). */
  concurrency: number;
  /** Check runs (asked for during an attempt) that may wait at once; one more is refused with Retry-After. */
  maxQueued: number;
  /** The least time between the end of an attempt's check run and the start of its next (ms). */
  checkIntervalMs: number;
}

/**
 * OPSLAB_GRADING_CONCURRENCY's default: half the machine's cores (a grading is CPU work: the checks, the candidate's
 * pipeline), at least 1, and at most a quarter of OPSLAB_MAX_SANDBOXES over the two containers a grading holds, so
 * gradings at full tilt take at most about half the machine's container capacity.
 */
export function defaultGradingConcurrency(maxSandboxes: number, cores = os.availableParallelism()): number {
  return Math.max(1, Math.min(Math.floor(cores / 2), Math.floor(maxSandboxes / 4)));
}

/** What the data directory (database, recordings, snapshots) may hold (server/src/attempts/data-budget.ts). */
export interface DataBudgetConfig {
  /** New attempts are refused past this (0: no budget); running attempts are never cut off. */
  maxBytes: number;
  /** Kept for interviews: new practice attempts are refused past `maxBytes - interviewReserveBytes`. */
  interviewReserveBytes: number;
}

/**
 * `title`: the exercise's title, summary, difficulty and skills with the time limit; `minimal`: the time limit
 * only, neither the exercise's name nor its id (the workspace shows the instructions once the clock runs).
 */
export type InviteLanding = 'title' | 'minimal';
export const INVITE_LANDINGS: readonly InviteLanding[] = ['title', 'minimal'];

/**
 * Which exercises practice offers (OPSLAB_PRACTICE_EXERCISES): `declared`, those whose exercise.yaml lists the
 * practice mode; `all`, every exercise; or exactly the exercises listed (which may add interview-only ones and leave
 * out declared ones). The ids are checked against the catalog when the server starts (server/src/practice/offer.ts).
 */
export type PracticeExercises = 'declared' | 'all' | string[];

/** Sandboxes kept created, started and set up ahead of time, per exercise (server/src/attempts/warm-pool.ts). */
export interface WarmPoolConfig {
  /** How many each exercise not named in `perExercise` keeps ready (0: none). */
  size: number;
  /** Sizes for named exercises (exercise id -> size), overriding `size`. */
  perExercise: Record<string, number>;
  /** A pooled sandbox nobody claimed for this long is removed (and not replaced until the next start); 0: never. */
  idleMs: number;
}

/** Practice mode: anonymous trainees, sharing the machine with interviews (which always come first). */
export interface PracticeConfig {
  enabled: boolean;
  /** Sandboxes practice may hold at once; interviews may use every sandbox and take practice ones back. */
  maxSandboxes: number;
  /** Practice attempts one trainee may have running at once. */
  perTrainee: number;
  timeLimitMinutes: number;
  exercises: PracticeExercises;
  /** Finished practice attempts are deleted this long after they end (at most the interviews' retention). */
  retentionDays: number;
  /** Practice starts one client (address) may make per minute and per hour; 0: no limit. */
  startsPerMinute: number;
  startsPerHour: number;
  /** New anonymous trainees (practice tokens) one client may get per hour; 0: no limit. */
  newTraineesPerHour: number;
}

/** A subset of the capability allow-list: names with or without CAP_, comma- or space-separated; `none` for none. */
function capabilities(env: Env, name: string): string[] {
  const raw = str(env, name, '');
  if (raw === '') return [...CAPABILITY_ALLOWLIST];
  if (raw.toLowerCase() === 'none') return [];
  const allowed = new Set<string>(CAPABILITY_ALLOWLIST);
  const caps = raw.split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase().replace(/^CAP_/, ''));
  for (const cap of caps) {
    if (!allowed.has(cap)) {
      throw new ConfigError(name, raw, `none, or some of ${CAPABILITY_ALLOWLIST.join(' ')} (never more)`);
    }
  }
  return [...new Set(caps)];
}

function origins(env: Env, name: string): string[] {
  const raw = str(env, name, '');
  if (raw === '') return [];
  return raw.split(',').map((item) => {
    const trimmed = item.trim();
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new ConfigError(name, raw, 'a comma-separated list of origins such as https://lab.example.com');
    }
    if (url.origin === 'null' || url.pathname !== '/' || url.search || url.hash) {
      throw new ConfigError(name, raw, 'origins only (scheme://host[:port]), without a path');
    }
    return url.origin;
  });
}

/** The most sandboxes one exercise may keep warm. */
export const MAX_WARM_POOL_SIZE = 100;

/**
 * OPSLAB_WARM_POOL: empty or `0` (off), a number (every exercise keeps that many ready), or a comma-separated list
 * of `<exercise id>=<n>` items, optionally with one bare number for the exercises the list does not name.
 */
export function parseWarmPool(raw: string | undefined): { size: number; perExercise: Record<string, number> } {
  const name = 'OPSLAB_WARM_POOL';
  const expected =
    `a number from 0 to ${MAX_WARM_POOL_SIZE}, or a comma-separated list such as ci-triage=2,latency-slo=1 ` +
    '(exercise ids with the sandboxes each keeps ready; a bare number applies to the exercises not listed)';
  const text = (raw ?? '').trim();
  const result = { size: 0, perExercise: {} as Record<string, number> };
  if (text === '') return result;
  let sawDefault = false;
  const count = (value: string, item: string): number => {
    const n = Number(value);
    if (value === '' || !/^\d+$/.test(value) || !Number.isInteger(n) || n > MAX_WARM_POOL_SIZE) {
      throw new ConfigError(name, raw!, `${expected}; "${item}" has no valid size`);
    }
    return n;
  };
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') throw new ConfigError(name, raw!, `${expected}; an item is empty`);
    const eq = item.indexOf('=');
    if (eq < 0) {
      if (sawDefault) throw new ConfigError(name, raw!, `${expected}; more than one bare number`);
      sawDefault = true;
      result.size = count(item, item);
      continue;
    }
    const id = item.slice(0, eq).trim();
    if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(id)) {
      throw new ConfigError(name, raw!, `${expected}; "${id}" is not an exercise id (lowercase letters, digits, dashes)`);
    }
    if (id in result.perExercise) throw new ConfigError(name, raw!, `${expected}; "${id}" is listed twice`);
    result.perExercise[id] = count(item.slice(eq + 1).trim(), item);
  }
  return result;
}

/** OPSLAB_PRACTICE_EXERCISES: `declared` (default), `all`, or a comma-separated list of exercise ids. */
export function parsePracticeExercises(raw: string | undefined): PracticeExercises {
  const name = 'OPSLAB_PRACTICE_EXERCISES';
  const expected = 'declared (what each exercise.yaml says), all, or a comma-separated list of exercise ids such as shell-warmup,ci-triage';
  const text = (raw ?? '').trim();
  if (text === '' || text.toLowerCase() === 'declared') return 'declared';
  if (text.toLowerCase() === 'all') return 'all';
  const ids: string[] = [];
  for (const part of text.split(',')) {
    const id = part.trim();
    if (id === '') throw new ConfigError(name, raw!, `${expected}; an item is empty`);
    if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(id)) {
      throw new ConfigError(name, raw!, `${expected}; "${id}" is not an exercise id (lowercase letters, digits, dashes)`);
    }
    if (ids.includes(id)) throw new ConfigError(name, raw!, `${expected}; "${id}" is listed twice`);
    ids.push(id);
  }
  return ids;
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const host = str(env, 'OPSLAB_HOST', '127.0.0.1');
  const port = int(env, 'OPSLAB_PORT', 8080, 0, 65535);
  const displayHost = host.includes(':') ? `[${host}]` : host;
  const publicUrl = str(env, 'OPSLAB_PUBLIC_URL', `http://${displayHost}:${port}`);
  try {
    new URL(publicUrl);
  } catch {
    throw new ConfigError('OPSLAB_PUBLIC_URL', publicUrl, 'an absolute URL such as https://lab.example.com');
  }
  const memoryMb = int(env, 'OPSLAB_SANDBOX_MEMORY_MB', 512, 64, 65536);
  const cpus = num(env, 'OPSLAB_SANDBOX_CPUS', 1, 0.1, 64);
  const pids = int(env, 'OPSLAB_SANDBOX_PIDS', 256, 16, 32768);
  const runtime = str(env, 'OPSLAB_SANDBOX_RUNTIME', 'runc');
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(runtime)) {
    throw new ConfigError('OPSLAB_SANDBOX_RUNTIME', runtime, 'a runtime name such as runc or runsc');
  }
  const maxSandboxes = int(env, 'OPSLAB_MAX_SANDBOXES', 20, 1, 10000);
  const practiceSwitch = str(env, 'OPSLAB_PRACTICE', 'on').toLowerCase();
  if (practiceSwitch !== 'on' && practiceSwitch !== 'off') throw new ConfigError('OPSLAB_PRACTICE', practiceSwitch, 'on or off');
  return {
    host,
    port,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    dataDir: path.resolve(cwd, str(env, 'OPSLAB_DATA_DIR', 'data')),
    databaseUrl: databaseUrl(env, 'OPSLAB_DATABASE_URL'),
    exercisesDir: path.resolve(cwd, str(env, 'OPSLAB_EXERCISES_DIR', 'exercises')),
    webDir: path.resolve(cwd, str(env, 'OPSLAB_WEB_DIR', 'dist/web')),
    allowedOrigins: [...new Set([new URL(publicUrl).origin, ...origins(env, 'OPSLAB_ALLOWED_ORIGINS')])],
    trustProxy: trustProxy(env, 'OPSLAB_TRUST_PROXY'),
    logLevel: str(env, 'OPSLAB_LOG_LEVEL', 'info'),
    maxSandboxes,
    reconcileIntervalMs: int(env, 'OPSLAB_RECONCILE_INTERVAL_SECONDS', 15, 1, 3600) * 1000,
    replica: replicaConfig(env, host, port),
    recordingMaxBytes: int(env, 'OPSLAB_RECORDING_MAX_MB', 64, 1, 4096) * 1024 * 1024,
    retentionDays: int(env, 'OPSLAB_RETENTION_DAYS', 180, 0, 36500),
    practice: {
      enabled: practiceSwitch === 'on',
      maxSandboxes: int(env, 'OPSLAB_PRACTICE_MAX_SANDBOXES', Math.max(1, Math.floor(maxSandboxes / 2)), 0, maxSandboxes),
      perTrainee: int(env, 'OPSLAB_PRACTICE_PER_TRAINEE', 1, 1, 10),
      timeLimitMinutes: int(env, 'OPSLAB_PRACTICE_TIME_LIMIT_MINUTES', 240, 5, 1440),
      exercises: parsePracticeExercises(env.OPSLAB_PRACTICE_EXERCISES),
      retentionDays: int(env, 'OPSLAB_PRACTICE_RETENTION_DAYS', 14, 0, 36500),
      startsPerMinute: int(env, 'OPSLAB_PRACTICE_STARTS_PER_MINUTE', 6, 0, 10000),
      startsPerHour: int(env, 'OPSLAB_PRACTICE_STARTS_PER_HOUR', 30, 0, 100000),
      newTraineesPerHour: int(env, 'OPSLAB_PRACTICE_NEW_TRAINEES_PER_HOUR', 10, 0, 100000),
    },
    sandbox: {
      memoryMb,
      cpus,
      pids,
      runtime,
      maxMemoryMb: Math.max(memoryMb, int(env, 'OPSLAB_SANDBOX_MAX_MEMORY_MB', 2048, 64, 65536)),
      maxCpus: Math.max(cpus, num(env, 'OPSLAB_SANDBOX_MAX_CPUS', 2, 0.1, 64)),
      maxPids: Math.max(pids, int(env, 'OPSLAB_SANDBOX_MAX_PIDS', 1024, 16, 32768)),
      capabilities: capabilities(env, 'OPSLAB_SANDBOX_CAPABILITIES'),
      diskQuotaBytes: int(env, 'OPSLAB_SANDBOX_DISK_MB', 1024, 0, 1_048_576) * 1024 * 1024,
      diskIntervalMs: int(env, 'OPSLAB_SANDBOX_DISK_INTERVAL_SECONDS', 5, 1, 3600) * 1000,
    },
    warmPool: {
      ...parseWarmPool(env.OPSLAB_WARM_POOL),
      idleMs: int(env, 'OPSLAB_WARM_POOL_IDLE_MINUTES', 30, 0, 10080) * 60_000,
    },
    inviteLanding: inviteLanding(env, 'OPSLAB_INVITE_LANDING'),
    snapshotMaxBytes: int(env, 'OPSLAB_SNAPSHOT_MAX_MB', 128, 1, 4096) * 1024 * 1024,
    dataBudget: dataBudget(env),
    grading: {
      concurrency: int(env, 'OPSLAB_GRADING_CONCURRENCY', defaultGradingConcurrency(maxSandboxes), 1, 256),
      maxQueued: int(env, 'OPSLAB_GRADING_QUEUE_MAX', Math.max(4, Math.floor(maxSandboxes / 2)), 0, 10000),
      checkIntervalMs: int(env, 'OPSLAB_CHECK_INTERVAL_SECONDS', 10, 1, 3600) * 1000,
    },
    webhooks: webhookConfig(env),
    ...signIn(env),
    exercisesGit: exercisesGit(env, cwd),
  };
}

/** OPSLAB_DATA_MAX_MB (0: no budget) and OPSLAB_DATA_INTERVIEW_RESERVE_MB, which must leave practice some room. */
function dataBudget(env: Env): DataBudgetConfig {
  const maxMb = int(env, 'OPSLAB_DATA_MAX_MB', 20480, 0, 1_073_741_824);
  const reserveMb = int(env, 'OPSLAB_DATA_INTERVIEW_RESERVE_MB', Math.floor(maxMb / 10), 0, 1_073_741_824);
  if (maxMb > 0 && reserveMb >= maxMb) {
    throw new ConfigError('OPSLAB_DATA_INTERVIEW_RESERVE_MB', String(reserveMb), `less than OPSLAB_DATA_MAX_MB (${maxMb})`);
  }
  return { maxBytes: maxMb * 1024 * 1024, interviewReserveBytes: maxMb > 0 ? reserveMb * 1024 * 1024 : 0 };
}

/** OPSLAB_TRUST_PROXY: unset or `off` for none; else a comma-separated list of IPv4/IPv6 addresses or CIDR ranges. */
function trustProxy(env: NodeJS.ProcessEnv, name: string): false | string[] {
  const raw = (env[name] ?? '').trim();
  if (raw === '' || raw.toLowerCase() === 'off') return false;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const ip = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)(\/\d{1,3})?$/i;
  for (const item of items) {
    if (!ip.test(item)) throw new ConfigError(name, raw, 'off, or proxy addresses or CIDR ranges such as 127.0.0.1 or 10.0.0.0/8, comma-separated');
  }
  return items;
}

/** OPSLAB_INVITE_LANDING: `title` (default) or `minimal`. */
function inviteLanding(env: Env, name: string): InviteLanding {
  const raw = str(env, name, 'title');
  const value = raw.toLowerCase();
  if (!(INVITE_LANDINGS as readonly string[]).includes(value)) {
    throw new ConfigError(name, raw, 'title (the exercise\'s title, summary and time limit) or minimal (the time limit only)');
  }
  return value as InviteLanding;
}

/** OPSLAB_WEBHOOK_*: where webhooks may go, how long a try may take, how retries are spaced. */
function webhookConfig(env: Env): WebhookConfig {
  const raw = str(env, 'OPSLAB_WEBHOOK_ALLOW_PRIVATE', '0').toLowerCase();
  if (!['0', '1', 'true', 'false', 'on', 'off'].includes(raw)) {
    throw new ConfigError('OPSLAB_WEBHOOK_ALLOW_PRIVATE', raw, '1 (allow private and loopback addresses) or 0');
  }
  return {
    allowPrivate: ['1', 'true', 'on'].includes(raw),
    timeoutMs: Math.round(num(env, 'OPSLAB_WEBHOOK_TIMEOUT_SECONDS', 10, 0.1, 60) * 1000),
    retryBaseMs: Math.round(num(env, 'OPSLAB_WEBHOOK_RETRY_BASE_SECONDS', 30, 0.05, 3600) * 1000),
    concurrency: int(env, 'OPSLAB_WEBHOOK_CONCURRENCY', 4, 1, 64),
    retentionDays: int(env, 'OPSLAB_WEBHOOK_RETENTION_DAYS', 30, 1, 36500),
  };
}

/** OPSLAB_EXERCISES_GIT and its settings; a bad item stops the server with the item and the reason. */
export function exercisesGit(env: Env, cwd: string): ExercisesGitConfig {
  const raw = str(env, 'OPSLAB_EXERCISES_GIT', '');
  let sources: GitSourceSpec[];
  try {
    sources = parseGitSources(raw, cwd);
  } catch (err) {
    // The value is echoed without credentials, like everywhere repositories are shown.
    const shown = raw.split(/[\s,]+/).map((item) => displayGitUrl(item)).join(',');
    throw new ConfigError('OPSLAB_EXERCISES_GIT', shown, `repositories as <url>[#ref], comma- or space-separated: ${(err as Error).message}`);
  }
  return {
    sources,
    intervalMs: int(env, 'OPSLAB_EXERCISES_GIT_INTERVAL_SECONDS', 300, 0, 86_400) * 1000,
    timeoutMs: int(env, 'OPSLAB_EXERCISES_GIT_TIMEOUT_SECONDS', 120, 5, 3600) * 1000,
    maxBytes: int(env, 'OPSLAB_EXERCISES_GIT_MAX_MB', 200, 1, 100_000) * 1024 * 1024,
    selfTestSeeds: int(env, 'OPSLAB_EXERCISES_GIT_SELFTEST_SEEDS', 2, 1, 20),
    selfTestParallel: int(env, 'OPSLAB_EXERCISES_GIT_SELFTEST_PARALLEL', 1, 1, 8),
  };
}
