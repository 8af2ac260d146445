import { randomBytes } from 'node:crypto';
import type { OidcConfig } from '../config.js';
import { isUniqueViolation, type UserRecord } from '../store/users-repo.js';
import type { Role, SsoFailure } from '../../../contract/auth.js';
import type { AuthService } from './service.js';

/** A refused single sign-on: the reason goes to the login page (`/login?sso=<reason>`), never more. */
export class SsoRefusal extends Error {
  constructor(readonly reason: SsoFailure) {
    super(`single sign-on refused: ${reason}`);
    this.name = 'SsoRefusal';
  }
}

/** Who the provider says signed in, once the settings allow them. */
export interface SsoIdentity {
  subject: string;
  email: string;
  name: string;
  role: Role;
  /** Whether the role comes from the groups (false: the default role, for a new account only). */
  fromGroups: boolean;
}

const NAME_MAX = 100;

/** The groups the role claim lists: an array of strings, or one string (some providers send a single value). */
function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The role the groups map to: admin before interviewer; null when they map to none. */
export function roleFor(config: OidcConfig, groups: readonly string[]): Role | null {
  if (groups.some((g) => config.adminGroups.includes(g))) return 'admin';
  if (groups.some((g) => config.interviewerGroups.includes(g))) return 'interviewer';
  return null;
}

function displayName(claims: Record<string, unknown>, email: string): string {
  const given = typeof claims.given_name === 'string' ? claims.given_name : '';
  const family = typeof claims.family_name === 'string' ? claims.family_name : '';
  const candidates = [claims.name, `${given} ${family}`, claims.preferred_username, email.split('@')[0]];
  for (const candidate of candidates) {
    // eslint-disable-next-line no-control-regex -- control characters never reach a page or a log line
    const clean = typeof candidate === 'string' ? candidate.replace(/[\u0000-\u001f\u007f]/g, '').trim() : '';
    if (clean !== '') return [...clean].slice(0, NAME_MAX).join('');
  }
  return email;
}

/**
 * Checks the validated claims against the settings: a verified email (`email_verified` must be true), in an
 * allowed domain, in a group that maps to a role. Returns the identity or why it is refused.
 */
export function ssoIdentity(config: OidcConfig, claims: Record<string, unknown>): SsoIdentity | SsoFailure {
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject === '') return 'token';
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1 || email.length > 254) return 'email';
  // Never an email the provider says is unverified; one it says nothing about only when the settings allow it.
  const verified = claims.email_verified;
  if (verified === false || verified === 'false' || (verified !== true && config.requireVerifiedEmail)) return 'email';
  const domain = email.slice(at + 1);
  if (config.allowedDomains !== '*' && !config.allowedDomains.includes(domain)) return 'domain';
  const role = roleFor(config, groupsOf(claims[config.roleClaim]));
  if (role) return { subject, email, name: displayName(claims, email), role, fromGroups: true };
  if (!config.defaultRole) return 'role';
  return { subject, email, name: displayName(claims, email), role: config.defaultRole, fromGroups: false };
}

/**
 * The opslab account of a provider's user: the one linked to their issuer and subject; else the account with
 * their (verified) email, which is linked now unless it is linked to someone else; else a new account (no
 * password). The role follows the provider's groups at every sign-in; a user in no mapped group gets the default
 * role for a new account and keeps their role otherwise. A disabled account stays refused. Every creation, link
 * and role change is audited. Runs in one transaction; when two first sign-ins of one person race and the other
 * made the account first (the database refuses the second), it runs once more and finds that account.
 */
export async function resolveSsoAccount(
  auth: AuthService,
  identity: SsoIdentity & { issuer: string },
): Promise<UserRecord | SsoFailure> {
  try {
    return await resolveOnce(auth, identity);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return resolveOnce(auth, identity);
  }
}

function resolveOnce(auth: AuthService, identity: SsoIdentity & { issuer: string }): Promise<UserRecord | SsoFailure> {
  return auth.users.transaction(async (users, tx) => {
    let user = await users.bySubject(identity.issuer, identity.subject);
    if (!user) {
      const byEmail = await users.byEmail(identity.email);
      if (byEmail) {
        if (await users.subjectOf(byEmail.id)) return 'conflict';
        if (byEmail.disabledAt !== null) return 'disabled';
        await users.setSubject(byEmail.id, identity.issuer, identity.subject);
        await auth.audit(
          {
            userId: byEmail.id,
            action: 'user.link',
            detail: { id: byEmail.id, email: byEmail.email, via: 'sso', issuer: identity.issuer },
          },
          tx,
        );
        user = byEmail;
      } else {
        const record: UserRecord = {
          id: `u_${randomBytes(10).toString('hex')}`,
          email: identity.email,
          name: identity.name,
          role: identity.role,
          passwordHash: null,
          createdAt: auth.now(),
          createdBy: null,
          disabledAt: null,
        };
        await users.insert(record);
        await users.setSubject(record.id, identity.issuer, identity.subject);
        await auth.audit(
          {
            userId: null,
            action: 'user.create',
            detail: { id: record.id, email: record.email, role: record.role, via: 'sso', issuer: identity.issuer },
          },
          tx,
        );
        return record;
      }
    }
    if (user.disabledAt !== null) return 'disabled';
    // In no mapped group, with a default role: an existing account keeps the role it has.
    if (identity.fromGroups && user.role !== identity.role) {
      await users.setRole(user.id, identity.role);
      await auth.audit(
        {
          userId: null,
          action: 'user.role',
          detail: { id: user.id, email: user.email, from: user.role, to: identity.role, via: 'sso' },
        },
        tx,
      );
      user = { ...user, role: identity.role };
    }
    return user;
  });
}
