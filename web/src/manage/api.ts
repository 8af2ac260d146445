// Typed client for the staff side of the API (docs/api.md, "Invites (interviewers)" and "Review"): invites and
// the attempt list. Requests go through api.request, which adds the session's CSRF header to every change.

import { request } from '../api.js';
import {
  ATTEMPT_STATES as CONTRACT_ATTEMPT_STATES,
  type AttemptPage,
  type AttemptSort,
  type AttemptState,
  type CreatedInvite,
  type CreateInviteBody,
  type ExtendInviteBody,
  type InviteStatus,
  type InviteView,
  type ReviewBundle,
  type SortOrder,
} from '../../../contract/index.js';
import type { User } from './session.js';

export {
  ATTEMPT_SORTS,
  EXTEND_MINUTES,
  INVITE_STATUSES,
  type AttemptPage,
  type AttemptRow,
  type AttemptSort,
  type CreatedInvite,
  type CreateInviteBody,
  type InviteStatus,
  type InviteView as Invite,
  type PersonRef,
  type SortOrder,
} from '../../../contract/index.js';

export const ATTEMPT_STATES: readonly AttemptState[] = CONTRACT_ATTEMPT_STATES;

export interface InviteFilter {
  status?: InviteStatus | '';
  exerciseId?: string;
}

export interface AttemptQuery {
  state?: AttemptState | '';
  exerciseId?: string;
  /** A staff user's id. */
  interviewer?: string;
  minScore?: number | null;
  maxScore?: number | null;
  sort?: AttemptSort;
  order?: SortOrder;
  /** 1-based. */
  page?: number;
  pageSize?: number;
}

/** The part of an attempt's review bundle (`GET /api/manage/attempts/:id`) the live view shows. */
export type AttemptOverview = Pick<ReviewBundle, 'attempt' | 'timeLimitSeconds' | 'candidate'> & {
  invite: Pick<NonNullable<ReviewBundle['invite']>, 'id' | 'createdBy'> | null;
  exercise: Pick<ReviewBundle['exercise'], 'id' | 'title'>;
};

/** A query string from the fields that are set; empty strings and nulls are left out. */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function invitePath(id: string): string {
  return `/api/manage/invites/${encodeURIComponent(id)}`;
}

export const manageApi = {
  async listInvites(filter: InviteFilter = {}, signal?: AbortSignal): Promise<InviteView[]> {
    const qs = queryString({ status: filter.status, exerciseId: filter.exerciseId });
    const body = await request<{ invites: InviteView[] }>(`/api/manage/invites${qs}`, { signal });
    return body.invites;
  },

  /** The answer holds the invite's link: the only time it is shown. */
  async createInvite(invite: CreateInviteBody, signal?: AbortSignal): Promise<CreatedInvite> {
    const body = await request<{ invite: CreatedInvite }>('/api/manage/invites', { method: 'POST', body: invite, signal });
    return body.invite;
  },

  /** A new link, shown this once; the old link and the browser that used it stop opening the attempt. */
  async reissueInvite(id: string, signal?: AbortSignal): Promise<CreatedInvite> {
    const body = await request<{ invite: CreatedInvite }>(`${invitePath(id)}/reissue`, { method: 'POST', signal });
    return body.invite;
  },

  /** The token stops working at once; a running attempt is ended and graded. */
  async revokeInvite(id: string, signal?: AbortSignal): Promise<InviteView> {
    const body = await request<{ invite: InviteView }>(`${invitePath(id)}/revoke`, { method: 'POST', signal });
    return body.invite;
  },

  /** Moves a running attempt's deadline, or raises the time limit of an invite not started yet. */
  async extendInvite(id: string, minutes: number, signal?: AbortSignal): Promise<InviteView> {
    const input: ExtendInviteBody = { minutes };
    const body = await request<{ invite: InviteView }>(`${invitePath(id)}/extend`, {
      method: 'POST',
      body: input,
      signal,
    });
    return body.invite;
  },

  async listAttempts(query: AttemptQuery = {}, signal?: AbortSignal): Promise<AttemptPage> {
    const qs = queryString({
      state: query.state,
      exerciseId: query.exerciseId,
      interviewer: query.interviewer,
      minScore: query.minScore,
      maxScore: query.maxScore,
      sort: query.sort,
      order: query.order,
      page: query.page,
      pageSize: query.pageSize,
    });
    return request<AttemptPage>(`/api/manage/attempts${qs}`, { signal });
  },

  async getAttemptOverview(id: string, signal?: AbortSignal): Promise<AttemptOverview> {
    return request<AttemptOverview>(`/api/manage/attempts/${encodeURIComponent(id)}`, { signal });
  },

  /** Admins only; interviewers get 403. */
  async listUsers(signal?: AbortSignal): Promise<User[]> {
    const body = await request<{ users: User[] }>('/api/manage/users', { signal });
    return body.users;
  },
};

/** ws:// or wss:// URL of the read-only live view of an attempt's terminal, on the page's own origin. */
export function liveUrl(attemptId: string, location: Location = window.location, terminal = 1): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = terminal === 1 ? '' : `?terminal=${terminal}`;
  return `${scheme}//${location.host}/api/manage/attempts/${encodeURIComponent(attemptId)}/live${query}`;
}

/** Where a staff member goes from an attempt: the live view while it runs, the review page otherwise. */
export function attemptHref(attemptId: string, state: AttemptState | InviteStatus): string {
  const base = `/manage/attempts/${encodeURIComponent(attemptId)}`;
  return state === 'running' ? `${base}/live` : base;
}
