import type { FastifyRequest } from 'fastify';

export type { Role } from '../../../contract/auth.js';
import type { Role } from '../../../contract/auth.js';

/** A signed-in interviewer or admin, as the routes see them. */
export interface StaffUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface AuditEntry {
  userId: string | null;
  action: string;
  attemptId?: string | null;
  inviteId?: string | null;
  detail?: unknown;
}

/**
 * What the rest of the server needs from accounts: a guard for staff routes (session cookie, role, and the CSRF
 * header on requests that change something) and the audit log.
 */
export interface Auth {
  /** A preHandler: 401 without a valid session, 403 for a role not in `roles` or a missing CSRF token. Sets request.user. */
  guard(roles: readonly Role[]): (request: FastifyRequest) => Promise<void>;
  audit(entry: AuditEntry): void;
  userName(id: string): string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: StaffUser;
  }
}
