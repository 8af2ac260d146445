import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Attempt } from '../store/attempts-repo.js';

/** An attempt's access token is stored only as this hash. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Constant-time check of an attempt token. */
export function tokenMatches(attempt: Pick<Attempt, 'tokenHash'>, token: string): boolean {
  const given = Buffer.from(hashToken(token), 'hex');
  const stored = Buffer.from(attempt.tokenHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

export const newAttemptId = () => `a_${randomBytes(10).toString('hex')}`;

export const newAttemptToken = () => randomBytes(32).toString('base64url');

/**
 * An invite's claim token (the fragment of its link): 256 random bits, stored only as a hash. It is shown once, to
 * the invite's creator, and never is an attempt's credential: claiming it gives the browser a new attempt token.
 */
export const newClaimToken = () => randomBytes(32).toString('base64url');

/** A token nobody holds: set as an attempt's token hash, it locks out whoever held the old one. */
export const unusableTokenHash = () => hashToken(`locked:${randomBytes(32).toString('base64url')}`);
