// API tokens for automation (docs/api.md, "Automation"): an admin makes a named token with scopes; scripts send it
// as `Authorization: Bearer opslab_pat_…` to the staff routes its scopes name, and to nothing else.

import { stringEnum, Type, type Static } from './schema.js';

/**
 * What a token may do:
 * - `invites:write`: the staff's exercise list; create, list, revoke, extend and reissue invites (a creation's or
 *   reissue's answer holds the link);
 * - `attempts:read`: list attempts, the dashboard's CSV export, one attempt's grade and checks, its recording;
 * - `reviews:read`: one attempt's review bundle (grade, reviews, scorecards), its diff and commands, the HTML, JSON
 *   and JUnit exports.
 */
export const API_SCOPES = ['invites:write', 'attempts:read', 'reviews:read'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Every token's secret starts with this, so that a leaked one is recognisable (and scanners can find it). */
export const API_TOKEN_PREFIX = 'opslab_pat_';

export const API_TOKEN_LIMITS = {
  /** Tokens that are neither revoked nor expired, at once. */
  live: 50,
  /** Days a token may be valid; without an expiry it is valid until revoked. */
  expiresInDays: { min: 1, max: 365 },
} as const;

/** `ApiToken` of docs/api.md: never the secret (only its first characters, to tell tokens apart). */
export interface ApiTokenView {
  id: string;
  name: string;
  scopes: ApiScope[];
  /** `opslab_pat_` and the secret's first four characters. */
  prefix: string;
  createdBy: { id: string; name: string };
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
}

/** `POST /api/manage/tokens`: the secret comes back this once; the server keeps only its SHA-256. */
export interface CreatedApiToken {
  token: ApiTokenView;
  secret: string;
}

// ---- requests ---------------------------------------------------------------------------------------------

/** A token's name is at most this many characters. */
export const API_TOKEN_NAME_MAX = 64;
/** A token's name: what the audit log shows (`token:<name>`), so letters, digits, space, dot, dash and underscore. */
export const API_TOKEN_NAME_PATTERN = `^[A-Za-z0-9][A-Za-z0-9 ._-]{0,${API_TOKEN_NAME_MAX - 1}}$`;

export const CreateApiTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: API_TOKEN_NAME_MAX, pattern: API_TOKEN_NAME_PATTERN }),
    scopes: Type.Array(stringEnum(API_SCOPES), { minItems: 1, maxItems: API_SCOPES.length, uniqueItems: true }),
    expiresInDays: Type.Optional(
      Type.Integer({ minimum: API_TOKEN_LIMITS.expiresInDays.min, maximum: API_TOKEN_LIMITS.expiresInDays.max }),
    ),
  },
  { additionalProperties: false },
);
export type CreateApiTokenBody = Static<typeof CreateApiTokenBody>;

export const ApiTokenParams = Type.Object({ id: Type.String({ pattern: '^t_[0-9a-f]{20}$' }) }, { additionalProperties: false });
