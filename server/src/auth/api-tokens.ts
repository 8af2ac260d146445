import { createHash, randomBytes } from 'node:crypto';
import {
  API_TOKEN_LIMITS,
  API_TOKEN_PREFIX,
  type ApiScope,
  type ApiTokenView,
  type CreateApiTokenBody,
  type CreatedApiToken,
} from '../../../contract/api-tokens.js';
import { ERROR_CODES } from '../../../contract/errors.js';
import { OpslabError } from '../errors.js';
import type { Sql } from '../store/sql.js';
import { ApiTokensRepo, type ApiTokenRecord } from '../store/api-tokens-repo.js';
import type { UsersRepo } from '../store/users-repo.js';
import { setActor } from './actor.js';
import type { AuditEntry, Credentials, StaffUser } from './index.js';

const DAY_MS = 86_400_000;
/** last_used_at is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;
/** `opslab_pat_` and 32 random bytes in base64url (43 characters). */
const SECRET_PATTERN = new RegExp(`^${API_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`);

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const apiTokenErrors = {
  unknown: () => new OpslabError(ERROR_CODES.unauthorized, 401, 'This API token is not valid.'),
  revoked: () => new OpslabError(ERROR_CODES.unauthorized, 401, 'This API token was revoked.'),
  expired: () => new OpslabError(ERROR_CODES.unauthorized, 401, 'This API token has expired.'),
  creatorDisabled: () =>
    new OpslabError(ERROR_CODES.unauthorized, 401, 'The admin who created this API token is disabled; the token no longer works.'),
  ambiguous: () =>
    new OpslabError(
      ERROR_CODES.badRequest,
      400,
      'The request carries both a session cookie and an Authorization header; send one of them.',
    ),
  outOfScope: (scope: ApiScope | undefined, name: string) =>
    new OpslabError(
      ERROR_CODES.forbidden,
      403,
      scope === undefined
        ? 'API tokens cannot use this route; it needs a signed-in session.'
        : `The API token "${name}" lacks the scope ${scope} this route needs.`,
    ),
  notFound: () => new OpslabError(ERROR_CODES.apiTokenNotFound, 404, 'There is no such API token.'),
  nameTaken: () =>
    new OpslabError(ERROR_CODES.apiTokenState, 409, 'A token that is not revoked already has this name; choose another, or revoke that one.'),
  tooMany: () =>
    new OpslabError(
      ERROR_CODES.apiTokenState,
      409,
      `There are ${API_TOKEN_LIMITS.live} active API tokens already; revoke one that is no longer used.`,
    ),
  revokedAlready: () => new OpslabError(ERROR_CODES.apiTokenState, 409, 'This API token is revoked already.'),
};

export interface ApiTokenDeps {
  sql: Sql;
  users: UsersRepo;
  audit: (entry: AuditEntry) => Promise<void>;
  now: () => number;
}

/**
 * API tokens: an admin makes a named token with scopes, sees its secret once, and revokes it. A request with
 * `Authorization: Bearer <secret>` acts as the token's creator with the rights of an interviewer, on the staff routes
 * its scopes name only: invites it creates belong to that admin, and it manages those alone. It never uses a
 * session's routes, never comes with a session cookie, never needs a CSRF token (a browser never sends it by
 * itself). Whatever it does is audited with the actor `token:<name>`.
 */
export class ApiTokenService {
  readonly repo: ApiTokensRepo;

  constructor(private readonly deps: ApiTokenDeps) {
    this.repo = new ApiTokensRepo(deps.sql);
  }

  async create(actor: StaffUser, input: CreateApiTokenBody): Promise<CreatedApiToken> {
    const secret = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.deps.now();
    const record: ApiTokenRecord = {
      id: `t_${randomBytes(10).toString('hex')}`,
      name: input.name.trim(),
      secretHash: sha256(secret),
      prefix: secret.slice(0, API_TOKEN_PREFIX.length + 4),
      scopes: [...input.scopes],
      createdBy: actor.id,
      createdAt: now,
      expiresAt: input.expiresInDays === undefined ? null : now + input.expiresInDays * DAY_MS,
      lastUsedAt: null,
      revokedAt: null,
      revokedBy: null,
    };
    // The name and count checks and the insert in one transaction: tokens created at once cannot pass the limit.
    const stored = await this.repo.insertLive(record, now, API_TOKEN_LIMITS.live);
    if (stored === 'name-taken') throw apiTokenErrors.nameTaken();
    if (stored === 'too-many') throw apiTokenErrors.tooMany();
    await this.deps.audit({
      userId: actor.id,
      action: 'api-token.create',
      detail: { id: record.id, name: record.name, scopes: record.scopes, expiresAt: iso(record.expiresAt) },
    });
    return { token: await this.view(record), secret };
  }

  async list(): Promise<ApiTokenView[]> {
    const tokens = await this.repo.list();
    const names = await this.deps.users.names(tokens.map((t) => t.createdBy));
    return tokens.map((t) => this.viewWith(t, names.get(t.createdBy)));
  }

  async revoke(actor: StaffUser, id: string): Promise<ApiTokenView> {
    const token = await this.repo.get(id);
    if (!token) throw apiTokenErrors.notFound();
    if (!(await this.repo.revoke(id, this.deps.now(), actor.id))) throw apiTokenErrors.revokedAlready();
    await this.deps.audit({ userId: actor.id, action: 'api-token.revoke', detail: { id, name: token.name } });
    return this.view((await this.repo.get(id))!);
  }

  /**
   * The staff member a bearer token acts as on a route that allows `scope` (undefined: a route for sessions only).
   * 400 with a session cookie too; 401 for an unknown, revoked or expired token (or a disabled creator); 403 outside
   * its scopes (audited). Names the token as the request's actor.
   */
  async authenticate(credentials: Credentials & { bearer: string }, scope: ApiScope | undefined): Promise<StaffUser> {
    if (credentials.sessionId !== undefined) throw apiTokenErrors.ambiguous();
    const secret = credentials.bearer;
    const token = SECRET_PATTERN.test(secret) ? await this.repo.bySecretHash(sha256(secret)) : null;
    if (!token) throw apiTokenErrors.unknown();
    const now = this.deps.now();
    if (token.revokedAt !== null) throw apiTokenErrors.revoked();
    if (token.expiresAt !== null && token.expiresAt <= now) throw apiTokenErrors.expired();
    const user = await this.deps.users.get(token.createdBy);
    if (!user || user.disabledAt !== null) throw apiTokenErrors.creatorDisabled();
    setActor(`token:${token.name}`);
    if (token.lastUsedAt === null || now - token.lastUsedAt >= TOUCH_EVERY_MS) await this.repo.touch(token.id, now);
    if (scope === undefined || !token.scopes.includes(scope)) {
      await this.deps.audit({ userId: user.id, action: 'api-token.refused', detail: { id: token.id, scope: scope ?? null } });
      throw apiTokenErrors.outOfScope(scope, token.name);
    }
    // The creator's id (so that invites it makes are theirs), an interviewer's rights (never an admin's).
    return { id: user.id, email: user.email, name: user.name, role: 'interviewer' };
  }

  async view(token: ApiTokenRecord): Promise<ApiTokenView> {
    return this.viewWith(token, (await this.deps.users.get(token.createdBy))?.name);
  }

  /** The view, given the creator's name (undefined: no such account). */
  private viewWith(token: ApiTokenRecord, creatorName: string | undefined): ApiTokenView {
    const now = this.deps.now();
    return {
      id: token.id,
      name: token.name,
      scopes: token.scopes,
      prefix: token.prefix,
      createdBy: { id: token.createdBy, name: creatorName ?? 'unknown' },
      createdAt: iso(token.createdAt)!,
      expiresAt: iso(token.expiresAt),
      lastUsedAt: iso(token.lastUsedAt),
      revokedAt: iso(token.revokedAt),
      status: token.revokedAt !== null ? 'revoked' : token.expiresAt !== null && token.expiresAt <= now ? 'expired' : 'active',
    };
  }
}
