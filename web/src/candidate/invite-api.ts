// The candidate's side of an invite (docs/api.md "Candidate access"): the invite token travels only in the
// Authorization header, never in a URL.

import { request, type AttemptView } from '../api.js';
import type { CandidateInvite } from '../../../contract/index.js';

export type { CandidateInvite, CandidateInviteState as InviteState } from '../../../contract/index.js';

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export async function getInvite(token: string, signal?: AbortSignal): Promise<CandidateInvite> {
  const body = await request<{ invite: CandidateInvite }>('/api/invite', { headers: bearer(token), signal });
  return body.invite;
}

/**
 * Claims the invite: starts the clock (or, after a reissue, takes over the running attempt). The server sets the
 * attempt's own credential as an HttpOnly cookie, so the workspace needs nothing else. A link already claimed is
 * refused (409): the browser that claimed it holds the cookie.
 */
export async function startInvite(token: string, signal?: AbortSignal): Promise<AttemptView> {
  const body = await request<{ attempt: AttemptView }>('/api/invite/start', {
    method: 'POST',
    headers: bearer(token),
    signal,
  });
  return body.attempt;
}

/** The token from `/invite#<token>`; null when the fragment is missing. */
export function tokenFromHash(hash: string = location.hash): string | null {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  if (raw === '') return null;
  try {
    const token = decodeURIComponent(raw).trim();
    return token === '' ? null : token;
  } catch {
    return null;
  }
}
