// Staff accounts and sessions (docs/api.md, "Staff accounts").

import { ID_PATTERNS, idParams, NAME_PATTERN, stringEnum, Type, type Static } from './schema.js';

export const ROLES = ['admin', 'interviewer'] as const;
export type Role = (typeof ROLES)[number];

/** `User` of docs/api.md. */
export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
}

/** `GET /api/auth/state`. */
export interface AuthState {
  setupRequired: boolean;
  user: UserView | null;
  csrfToken: string | null;
  /** How staff sign in here: with a password, through an OpenID Connect provider, or both. */
  signIn: SignInMethods;
}

export interface SignInMethods {
  password: boolean;
  /** The provider's display name for "Sign in with <name>", or null without single sign-on. */
  sso: { name: string } | null;
}

/**
 * Why a single sign-on came back refused: `/login?sso=<reason>` (the login page says it in words; details stay
 * in the audit log). `state`: the sign-in expired, was used already or began in another browser; `provider`: the
 * provider refused or the user cancelled; `unavailable`: the provider could not be reached; `token`: its answer
 * did not pass validation (signature, issuer, audience, nonce); `expired`: its ID token had expired; `email`: no
 * verified email; `domain`: the email's domain is not allowed; `role`: in no group that maps to a role; `disabled`:
 * the opslab account is disabled; `conflict`: the email's account is linked to another identity; `rate`: too many
 * sign-ins begun from this address (20 in 10 minutes), or too many under way on the server.
 */
export const SSO_FAILURES = [
  'state',
  'provider',
  'unavailable',
  'token',
  'expired',
  'email',
  'domain',
  'role',
  'disabled',
  'conflict',
  'rate',
] as const;
export type SsoFailure = (typeof SSO_FAILURES)[number];

/** The answer to setup, login and activation (the session itself is an HttpOnly cookie). */
export interface SignedInBody {
  user: UserView;
  csrfToken: string;
}

/** `POST /api/manage/users`: the activation link comes back once; only its hash stays on the server. */
export interface CreatedUser {
  user: UserView;
  activationUrl: string;
}

export interface AuditView {
  at: string;
  user: { id: string; name: string } | null;
  action: string;
  /** Who acted for the user, when not they in person: `token:<name>` for an API token. */
  actor: string | null;
  attemptId: string | null;
  inviteId: string | null;
  detail: unknown;
}

/** Passwords: the server refuses anything outside this range (counted in characters). */
export const PASSWORD_LENGTH = { min: 12, max: 200 } as const;

/** An account's name and email address, at most this many characters (the forms say so before sending). */
export const ACCOUNT_LIMITS = { nameMax: 100, emailMax: 254 } as const;

// ---- requests ---------------------------------------------------------------------------------------------

/** A secret from a link: 256 bits in base64url (43 characters); a little room, nothing more. */
const linkToken = Type.String({ minLength: 1, maxLength: 100 });
const email = Type.String({ minLength: 3, maxLength: ACCOUNT_LIMITS.emailMax, pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$' });
const name = Type.String({ minLength: 1, maxLength: ACCOUNT_LIMITS.nameMax, pattern: NAME_PATTERN });
/** The length rule is checked by the server with a readable message; the schema only bounds the body. */
const password = Type.String({ maxLength: 1000 });

export const SetupBody = Type.Object({ token: linkToken, email, name, password }, { additionalProperties: false });
export type SetupBody = Static<typeof SetupBody>;

export const LoginBody = Type.Object({ email, password }, { additionalProperties: false });
export type LoginBody = Static<typeof LoginBody>;

export const ActivateBody = Type.Object({ token: linkToken, password }, { additionalProperties: false });
export type ActivateBody = Static<typeof ActivateBody>;

export const CreateUserBody = Type.Object({ email, name, role: stringEnum(ROLES) }, { additionalProperties: false });
export type CreateUserBody = Static<typeof CreateUserBody>;

export const UserParams = idParams(ID_PATTERNS.user);

/** `GET /api/manage/audit`: `limit` 1..1000, as a digit string (no coercion). */
export const AuditQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$' })) },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

/** `GET /api/auth/oidc/start`: `next`, where to go after signing in (a path under /manage; anything else: /manage). */
export const OidcStartQuery = Type.Object(
  { next: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
export type OidcStartQuery = Static<typeof OidcStartQuery>;
