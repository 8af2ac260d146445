import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import type { Sql } from '../store/sql.js';
import { isUniqueViolation, UsersRepo, type SessionRecord, type UserRecord } from '../store/users-repo.js';
import { AuditRepo } from '../store/audit-repo.js';
import type { ApiScope } from '../../../contract/api-tokens.js';
import { currentActor } from './actor.js';
import { ApiTokenService } from './api-tokens.js';
import { authErrors } from './errors.js';
import { LoginLimiter } from './login-limiter.js';
import { hashPassword, prepareDummyHash, verifyPassword, PASSWORD_MAX, PASSWORD_MIN } from './password.js';
import type { Auth, AuditEntry, Credentials, Role, StaffUser } from './index.js';
import type { ActivateBody, AuditView, CreatedUser, CreateUserBody, LoginBody, SetupBody, UserView } from '../../../contract/auth.js';

/** A session ends 12 hours after its last use, and 7 days after sign-in at the latest. */
export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_MAX_MS = 7 * 24 * 3600_000;
/** last_seen_at is written at most this often. */
const TOUCH_EVERY_MS = 60_000;
const SETUP_LINK_MS = 24 * 3600_000;
const ACTIVATION_LINK_MS = 7 * 24 * 3600_000;
const LOGIN_MAX_FAILURES = 5;
const LOGIN_WINDOW_MS = 15 * 60_000;

export { ROLES, type AuditView, type UserView } from '../../../contract/auth.js';

/** A session just created: the cookie value (shown once, only its hash is kept) and its CSRF token. */
export interface NewSession {
  id: string;
  csrfToken: string;
  /** For the cookie's Max-Age: the absolute lifetime. */
  maxAgeSeconds: number;
}

export interface SignedIn {
  user: UserView;
  session: NewSession;
}

export interface AuthServiceOptions {
  /** The clock (ms since the epoch); tests move it to expire sessions and rate-limit windows. */
  now?: () => number;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const newSecret = () => randomBytes(32).toString('base64url');
const newUserId = () => `u_${randomBytes(10).toString('hex')}`;
const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** Compares two secrets in time that does not depend on where they differ (hashes make the lengths equal). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function checkPassword(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) throw authErrors.password(PASSWORD_MIN, PASSWORD_MAX);
}

/** Accounts, sessions, CSRF and the audit log. */
export class AuthService implements Auth {
  readonly users: UsersRepo;
  readonly auditLog: AuditRepo;
  readonly apiTokens: ApiTokenService;
  /** Replaceable for tests. */
  now: () => number;
  private readonly limiter: LoginLimiter;

  constructor(
    sql: Sql,
    private readonly config: Config,
    options: AuthServiceOptions = {},
  ) {
    this.users = new UsersRepo(sql);
    this.auditLog = new AuditRepo(sql);
    this.now = options.now ?? Date.now;
    this.limiter = new LoginLimiter(LOGIN_MAX_FAILURES, LOGIN_WINDOW_MS, () => this.now());
    this.apiTokens = new ApiTokenService({ sql, users: this.users, audit: (e) => this.audit(e), now: () => this.now() });
    prepareDummyHash();
  }

  // The Auth interface.

  async authenticate(credentials: Credentials, roles: readonly Role[], scope?: ApiScope): Promise<StaffUser> {
    const { bearer } = credentials;
    if (bearer !== undefined) return this.apiTokens.authenticate({ ...credentials, bearer }, scope);
    const found = await this.resolveSession(credentials.sessionId);
    if (found === 'none') throw authErrors.signIn();
    if (found === 'ended') throw authErrors.sessionExpired();
    const { session, user } = found;
    if (!roles.includes(user.role)) throw authErrors.forbidden(roles);
    if (credentials.changes) {
      const token = credentials.csrfToken;
      if (token === undefined || !sameSecret(token, session.csrfToken)) throw authErrors.csrf();
    }
    return { id: user.id, email: user.email, name: user.name, role: user.role };
  }

  /** Writes an audit entry; `tx` joins it to an open transaction (the entry is kept only if that commits). */
  async audit(entry: AuditEntry, tx?: Sql): Promise<void> {
    await (tx ? new AuditRepo(tx) : this.auditLog).insert({
      at: this.now(),
      userId: entry.userId,
      action: entry.action,
      attemptId: entry.attemptId ?? null,
      inviteId: entry.inviteId ?? null,
      detail: entry.detail ?? null,
      actor: entry.actor === undefined ? currentActor() : entry.actor,
    });
  }

  async userName(id: string): Promise<string | null> {
    return (await this.users.get(id))?.name ?? null;
  }

  async userNames(ids: readonly string[]): Promise<Map<string, string>> {
    return this.users.names(ids);
  }

  // Setup of the first admin.

  async setupRequired(): Promise<boolean> {
    return (await this.users.count()) === 0;
  }

  /** The one-time link that creates the first admin, when there is no account yet (printed by `serve`). */
  async setupLink(): Promise<string | null> {
    const token = newSecret();
    const created = await this.users.transaction(async (users) => {
      if ((await users.count()) > 0) return false;
      // Only the newest link works.
      await users.deleteTokens('setup');
      const now = this.now();
      await users.insertToken({
        tokenHash: sha256(token),
        purpose: 'setup',
        userId: null,
        createdAt: now,
        expiresAt: now + SETUP_LINK_MS,
        usedAt: null,
      });
      return true;
    });
    return created ? `${this.config.publicUrl}/setup#${token}` : null;
  }

  async setup(input: SetupBody): Promise<SignedIn> {
    checkPassword(input.password);
    const passwordHash = await hashPassword(input.password);
    // One transaction from the link's check to the new admin: of setups racing with the link, one makes the first
    // admin and the others find the link used.
    const user = await this.users.transaction(async (users) => {
      const tokenHash = sha256(input.token);
      const token = await users.token(tokenHash);
      const now = this.now();
      if (!token || token.purpose !== 'setup' || token.usedAt !== null || token.expiresAt <= now) {
        throw authErrors.setupLink();
      }
      if ((await users.count()) > 0 || !(await users.useToken(tokenHash, now))) throw authErrors.setupLink();
      const record: UserRecord = {
        id: newUserId(),
        email: normaliseEmail(input.email),
        name: input.name.trim(),
        role: 'admin',
        passwordHash,
        createdAt: now,
        createdBy: null,
        disabledAt: null,
      };
      await users.insert(record);
      return record;
    });
    await this.audit({ userId: user.id, action: 'setup', detail: { email: user.email } });
    return { user: this.view(user), session: await this.startSession(user) };
  }

  // Sign-in.

  async login(input: LoginBody & { ip: string }): Promise<SignedIn> {
    if (!this.config.passwordLogin) throw authErrors.passwordLoginOff();
    const email = normaliseEmail(input.email);
    const keys = [`email:${email}`, `ip:${input.ip}`];
    const wait = this.limiter.retryAfterSeconds(keys);
    if (wait > 0) throw authErrors.loginRate(wait);
    // Counted before the (slow) password check and in the same turn as the check above, so that concurrent guesses
    // cannot all slip under the limit.
    const release = this.limiter.reserve(keys);
    const user = await this.users.byEmail(email);
    // Unknown emails and accounts without a password still pay for a key derivation.
    const matches = await verifyPassword(input.password, user?.passwordHash ?? null);
    if (!user || !matches || user.disabledAt !== null) {
      const reason = !user ? 'unknown-email' : !matches ? 'wrong-password' : 'disabled';
      await this.audit({ userId: user?.id ?? null, action: 'login-failed', detail: { email, reason, ip: input.ip } });
      throw authErrors.login();
    }
    release();
    this.limiter.clear(keys[0]!);
    await this.audit({ userId: user.id, action: 'login', detail: { ip: input.ip } });
    return { user: this.view(user), session: await this.startSession(user) };
  }

  /**
   * Signs in an account someone else proved (the OpenID Connect provider, server/src/auth/oidc.ts): the same
   * session, cookie and CSRF token as a password sign-in. The caller has checked that the account is not disabled.
   */
  async signInAs(user: UserRecord, detail: Record<string, unknown>): Promise<SignedIn> {
    await this.audit({ userId: user.id, action: 'login', detail });
    return { user: this.view(user), session: await this.startSession(user) };
  }

  /** Ends the session the cookie names (nothing when there is none). */
  async logout(sessionId: string | undefined): Promise<void> {
    if (!sessionId) return;
    const idHash = sha256(sessionId);
    const session = await this.users.session(idHash);
    // Of two logouts at once, the one that deleted the session audits it.
    if (!session || !(await this.users.deleteSession(idHash))) return;
    await this.audit({ userId: session.userId, action: 'logout' });
  }

  /** The signed-in user and their CSRF token, or nulls (GET /api/auth/state). */
  async state(sessionId: string | undefined): Promise<{ user: UserView | null; csrfToken: string | null }> {
    const found = await this.resolveSession(sessionId);
    if (typeof found === 'string') return { user: null, csrfToken: null };
    return { user: this.view(found.user), csrfToken: found.session.csrfToken };
  }

  // Accounts.

  /**
   * Creates an account directly (tests, the command line): with a password it can sign in at once, without one
   * it waits for activation.
   */
  async createUser(input: {
    email: string;
    name: string;
    role: Role;
    password?: string;
    createdBy?: string | null;
  }): Promise<UserView> {
    if (input.password !== undefined) checkPassword(input.password);
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    const record: UserRecord = {
      id: newUserId(),
      email: normaliseEmail(input.email),
      name: input.name.trim(),
      role: input.role,
      passwordHash,
      createdAt: this.now(),
      createdBy: input.createdBy ?? null,
      disabledAt: null,
    };
    await this.users
      .transaction(async (users) => {
        if (await users.byEmail(record.email)) throw authErrors.emailTaken();
        await users.insert(record);
      })
      .catch((err: unknown) => {
        // The same email added at the same time (PostgreSQL can report it so rather than as a conflict).
        throw isUniqueViolation(err) ? authErrors.emailTaken() : err;
      });
    return this.view(record);
  }

  /** An admin adds an account; its owner sets the password through the activation link (valid 7 days). */
  async addUser(
    actor: StaffUser,
    input: CreateUserBody,
  ): Promise<CreatedUser> {
    const user = await this.createUser({ ...input, createdBy: actor.id });
    const token = newSecret();
    const now = this.now();
    await this.users.insertToken({
      tokenHash: sha256(token),
      purpose: 'activate',
      userId: user.id,
      createdAt: now,
      expiresAt: now + ACTIVATION_LINK_MS,
      usedAt: null,
    });
    await this.audit({ userId: actor.id, action: 'user.create', detail: { id: user.id, email: user.email, role: user.role } });
    return { user, activationUrl: `${this.config.publicUrl}/activate#${token}` };
  }

  async activate(input: ActivateBody): Promise<SignedIn> {
    if (!this.config.passwordLogin) throw authErrors.passwordLoginOff();
    checkPassword(input.password);
    const passwordHash = await hashPassword(input.password);
    const user = await this.users.transaction(async (users) => {
      const tokenHash = sha256(input.token);
      const token = await users.token(tokenHash);
      const now = this.now();
      if (!token || token.purpose !== 'activate' || token.usedAt !== null || token.expiresAt <= now || !token.userId) {
        throw authErrors.activationLink();
      }
      const user = await users.get(token.userId);
      if (!user || user.disabledAt !== null || !(await users.useToken(tokenHash, now))) throw authErrors.activationLink();
      await users.setPassword(user.id, passwordHash);
      return { ...user, passwordHash };
    });
    await this.audit({ userId: user.id, action: 'user.activate' });
    return { user: this.view(user), session: await this.startSession(user) };
  }

  async listUsers(): Promise<UserView[]> {
    return (await this.users.list()).map((u) => this.view(u));
  }

  /**
   * Disables an account and ends its sessions. `actor` is null from the command line. An admin cannot disable
   * themself, and the last admin who can sign in is never disabled.
   */
  async disableUser(actor: StaffUser | null, id: string): Promise<UserView> {
    // One transaction from the admins read to the write: two admins disabled at once cannot leave none.
    const user = await this.users.transaction(async (users, tx) => {
      const user = await users.get(id);
      if (!user) throw authErrors.userNotFound();
      if (actor && actor.id === id) throw authErrors.disableSelf();
      if (user.disabledAt !== null) return user;
      if (user.role === 'admin' && !(await users.activeAdmins()).some((a) => a.id !== id)) throw authErrors.lastAdmin();
      const now = this.now();
      await users.disable(id, now);
      await users.deleteSessionsOf(id);
      await this.audit({ userId: actor?.id ?? null, action: 'user.disable', detail: { id, email: user.email } }, tx);
      return { ...user, disabledAt: now };
    });
    return this.view(user);
  }

  async auditEntries(limit: number): Promise<AuditView[]> {
    return (await this.auditLog.list(limit)).map((e) => ({
      at: new Date(e.at).toISOString(),
      user: e.userId === null ? null : { id: e.userId, name: e.userName ?? '(deleted)' },
      action: e.action,
      actor: e.actor,
      attemptId: e.attemptId,
      inviteId: e.inviteId,
      detail: e.detail,
    }));
  }

  view(user: UserRecord): UserView {
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      createdAt: new Date(user.createdAt).toISOString(),
      disabled: user.disabledAt !== null,
    };
  }

  // Sessions.

  private async startSession(user: UserRecord): Promise<NewSession> {
    const id = newSecret();
    const csrfToken = newSecret();
    const now = this.now();
    await this.users.deleteExpiredSessions(now);
    await this.users.insertSession({
      idHash: sha256(id),
      userId: user.id,
      csrfToken,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: Math.min(now + SESSION_IDLE_MS, now + SESSION_MAX_MS),
    });
    return { id, csrfToken, maxAgeSeconds: Math.floor(SESSION_MAX_MS / 1000) };
  }

  /**
   * The live session a cookie value names and its user, sliding its expiry forward; 'none' without a cookie or
   * for an unknown one, 'ended' for an expired session or a disabled user.
   */
  private async resolveSession(
    sessionId: string | undefined,
  ): Promise<{ session: SessionRecord; user: UserRecord } | 'none' | 'ended'> {
    if (!sessionId || sessionId.length > 100) return 'none';
    const idHash = sha256(sessionId);
    const session = await this.users.session(idHash);
    if (!session) return 'none';
    const now = this.now();
    const user = await this.users.get(session.userId);
    if (!user || user.disabledAt !== null || now >= session.expiresAt || now >= session.createdAt + SESSION_MAX_MS) {
      await this.users.deleteSession(idHash);
      return 'ended';
    }
    if (now - session.lastSeenAt >= TOUCH_EVERY_MS) {
      const expiresAt = Math.min(now + SESSION_IDLE_MS, session.createdAt + SESSION_MAX_MS);
      await this.users.touchSession(idHash, now, expiresAt);
      return { session: { ...session, lastSeenAt: now, expiresAt }, user };
    }
    return { session, user };
  }
}

export { PASSWORD_MAX, PASSWORD_MIN };
