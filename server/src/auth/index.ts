import type { ApiScope } from '../../../contract/api-tokens.js';
import type { Role } from '../../../contract/auth.js';

export type { Role };

/** A signed-in interviewer or admin, as the routes see them. */
export interface StaffUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

/** What a request presents to act as a staff member. */
export interface Credentials {
  /** The session id (from the session cookie only: an attempt or invite token is never a session). */
  sessionId: string | undefined;
  /** The CSRF token the request carries, if any. */
  csrfToken: string | undefined;
  /** Whether the request changes something: then the CSRF token must match the session's. */
  changes: boolean;
  /** An `Authorization: Bearer` value: an API token (auth/api-tokens.ts), never together with a session cookie. */
  bearer?: string;
}

export interface AuditEntry {
  userId: string | null;
  action: string;
  attemptId?: string | null;
  inviteId?: string | null;
  detail?: unknown;
  /** Who acted when not the user in person (`token:<name>`); by default the request's API token, if any. */
  actor?: string | null;
}

/**
 * What the rest of the server needs from accounts: who a request's session stands for (with its role and CSRF
 * token checked) and the audit log. The HTTP side (cookies, hooks) lives in routes/.
 */
export interface Auth {
  /**
   * The staff member behind the credentials; 401 without a valid session, 403 for a role not in `roles` or a bad CSRF
   * token. With a bearer token: the route must allow an API token `scope` it holds (403 otherwise).
   */
  authenticate(credentials: Credentials, roles: readonly Role[], scope?: ApiScope): Promise<StaffUser>;
  audit(entry: AuditEntry): Promise<void>;
  userName(id: string): Promise<string | null>;
  /** The names of the accounts with these ids, in one read (ids without an account are left out). */
  userNames(ids: readonly string[]): Promise<Map<string, string>>;
}
