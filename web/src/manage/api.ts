// Typed client for the staff side of the API (docs/api.md, "Invites (interviewers)" and "Review"): invites and
// the attempt list. Requests go through api.request, which adds the session's CSRF header to every change.

import { request, type AttemptState, type AttemptView, type EndReason } from '../api.js';
import type { User } from './session.js';

export interface PersonRef {
  id: string;
  name: string;
}

export const INVITE_STATUSES = ['pending', 'running', 'finished', 'expired', 'revoked', 'failed'] as const;
export type InviteStatus = (typeof INVITE_STATUSES)[number];

export interface Invite {
  id: string;
  exerciseId: string;
  exerciseTitle: string;
  candidateName: string;
  candidateEmail: string;
  timeLimitSeconds: number;
  showFeedback: boolean;
  note: string | null;
  createdBy: PersonRef;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  status: InviteStatus;
  attemptId: string | null;
  /** `<publicUrl>/invite#<token>`: the token is in the fragment. */
  link: string;
}

export interface CreateInviteBody {
  exerciseId: string;
  candidateName: string;
  candidateEmail: string;
  /** Leave out to use the exercise's own time limit. */
  timeLimitMinutes?: number;
  showFeedback: boolean;
  note?: string;
  /** Leave out for the server's default. */
  expiresInDays?: number;
}

export interface InviteFilter {
  status?: InviteStatus | '';
  exerciseId?: string;
}

/** Minutes an extension may add (docs/api.md). */
export const EXTEND_MINUTES = { min: 1, max: 240 } as const;

export const ATTEMPT_STATES: readonly AttemptState[] = ['created', 'running', 'submitted', 'expired', 'archived', 'failed'];

export interface AttemptRow {
  id: string;
  exerciseId: string;
  exerciseTitle: string;
  mode: 'interview' | 'practice';
  state: AttemptState;
  endReason: EndReason | null;
  candidateName: string | null;
  interviewer: PersonRef | null;
  createdAt: string;
  startedAt: string | null;
  deadline: string | null;
  endedAt: string | null;
  score: number | null;
  maxScore: number | null;
  reviews: number;
}

export const ATTEMPT_SORTS = ['createdAt', 'startedAt', 'endedAt', 'score', 'candidate', 'exercise'] as const;
export type AttemptSort = (typeof ATTEMPT_SORTS)[number];
export type SortOrder = 'asc' | 'desc';

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

export interface AttemptPage {
  attempts: AttemptRow[];
  total: number;
  page: number;
  pageSize: number;
}

/** The part of an attempt's review bundle (`GET /api/manage/attempts/:id`) the live view shows. */
export interface AttemptOverview {
  attempt: AttemptView;
  timeLimitSeconds: number;
  candidate: { name: string; email: string } | null;
  invite: { id: string; createdBy: PersonRef } | null;
  exercise: { id: string; title: string };
}

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
  async listInvites(filter: InviteFilter = {}, signal?: AbortSignal): Promise<Invite[]> {
    const qs = queryString({ status: filter.status, exerciseId: filter.exerciseId });
    const body = await request<{ invites: Invite[] }>(`/api/manage/invites${qs}`, { signal });
    return body.invites;
  },

  async createInvite(invite: CreateInviteBody, signal?: AbortSignal): Promise<Invite> {
    const body = await request<{ invite: Invite }>('/api/manage/invites', { method: 'POST', body: invite, signal });
    return body.invite;
  },

  /** The token stops working at once; a running attempt is ended and graded. */
  async revokeInvite(id: string, signal?: AbortSignal): Promise<Invite> {
    const body = await request<{ invite: Invite }>(`${invitePath(id)}/revoke`, { method: 'POST', signal });
    return body.invite;
  },

  /** Moves a running attempt's deadline, or raises the time limit of an invite not started yet. */
  async extendInvite(id: string, minutes: number, signal?: AbortSignal): Promise<Invite> {
    const body = await request<{ invite: Invite }>(`${invitePath(id)}/extend`, {
      method: 'POST',
      body: { minutes },
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
export function liveUrl(attemptId: string, location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/manage/attempts/${encodeURIComponent(attemptId)}/live`;
}

/** Where a staff member goes from an attempt: the live view while it runs, the review page otherwise. */
export function attemptHref(attemptId: string, state: AttemptState | InviteStatus): string {
  const base = `/manage/attempts/${encodeURIComponent(attemptId)}`;
  return state === 'running' ? `${base}/live` : base;
}
