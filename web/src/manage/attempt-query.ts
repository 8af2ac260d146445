// The attempts dashboard's state (filters, sort, page) and how it reads and writes the URL query, so that a reload
// or Back shows the same list.

import type { AttemptState } from '../api.js';
import { ATTEMPT_SORTS, ATTEMPT_STATES, type AttemptQuery, type AttemptSort, type SortOrder } from './api.js';

/** Attempts on one page of the list. */
export const PAGE_SIZE = 25;

/** The dashboard's state as it appears in the URL query. */
export interface DashboardQuery {
  state: AttemptState | '';
  exercise: string;
  interviewer: string;
  minScore: string;
  maxScore: string;
  sort: AttemptSort;
  order: SortOrder;
  page: number;
}

export const DEFAULT_QUERY: DashboardQuery = {
  state: '',
  exercise: '',
  interviewer: '',
  minScore: '',
  maxScore: '',
  sort: 'createdAt',
  order: 'desc',
  page: 1,
};

/** Text columns start A→Z; dates and scores start with the newest / highest. */
export const FIRST_ORDER: Record<AttemptSort, SortOrder> = {
  candidate: 'asc',
  exercise: 'asc',
  createdAt: 'desc',
  startedAt: 'desc',
  endedAt: 'desc',
  score: 'desc',
};

/** Score filters are percentages of the attempt's maximum score, whole numbers from 0 to 100. */
export function isScore(text: string): boolean {
  return text === '' || (/^\d{1,3}$/.test(text) && Number(text) <= 100);
}

export function parseQuery(search: string): DashboardQuery {
  const params = new URLSearchParams(search);
  const state = params.get('state') ?? '';
  const sort = params.get('sort') ?? '';
  const order = params.get('order') ?? '';
  const page = Number(params.get('page') ?? '1');
  const minScore = params.get('minScore') ?? '';
  const maxScore = params.get('maxScore') ?? '';
  return {
    state: (ATTEMPT_STATES as readonly string[]).includes(state) ? (state as AttemptState) : '',
    exercise: params.get('exercise') ?? '',
    interviewer: params.get('interviewer') ?? '',
    minScore: isScore(minScore) ? minScore : '',
    maxScore: isScore(maxScore) ? maxScore : '',
    sort: (ATTEMPT_SORTS as readonly string[]).includes(sort) ? (sort as AttemptSort) : DEFAULT_QUERY.sort,
    order: order === 'asc' || order === 'desc' ? order : FIRST_ORDER[(ATTEMPT_SORTS as readonly string[]).includes(sort) ? (sort as AttemptSort) : DEFAULT_QUERY.sort],
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

/** Only what differs from the defaults goes into the URL. */
export function formatQuery(query: DashboardQuery): string {
  const params = new URLSearchParams();
  if (query.state) params.set('state', query.state);
  if (query.exercise) params.set('exercise', query.exercise);
  if (query.interviewer) params.set('interviewer', query.interviewer);
  if (query.minScore) params.set('minScore', query.minScore);
  if (query.maxScore) params.set('maxScore', query.maxScore);
  if (query.sort !== DEFAULT_QUERY.sort || query.order !== DEFAULT_QUERY.order) {
    params.set('sort', query.sort);
    params.set('order', query.order);
  }
  if (query.page > 1) params.set('page', String(query.page));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function hasFilters(query: DashboardQuery): boolean {
  return query.state !== '' || query.exercise !== '' || query.interviewer !== '' || query.minScore !== '' || query.maxScore !== '';
}

/** The request for one page of the list. */
export function toApiQuery(query: DashboardQuery): AttemptQuery {
  return {
    state: query.state,
    exerciseId: query.exercise,
    interviewer: query.interviewer,
    minScore: query.minScore === '' ? null : Number(query.minScore),
    maxScore: query.maxScore === '' ? null : Number(query.maxScore),
    sort: query.sort,
    order: query.order,
    page: query.page,
    pageSize: PAGE_SIZE,
  };
}

/** The CSV export of every attempt of the query's filter, in its sort order (no pages). */
export function exportCsvHref(query: DashboardQuery): string {
  const params = new URLSearchParams();
  if (query.state) params.set('state', query.state);
  if (query.exercise) params.set('exerciseId', query.exercise);
  if (query.interviewer) params.set('interviewer', query.interviewer);
  if (query.minScore) params.set('minScore', query.minScore);
  if (query.maxScore) params.set('maxScore', query.maxScore);
  params.set('sort', query.sort);
  params.set('order', query.order);
  return `/api/manage/attempts/export.csv?${params.toString()}`;
}
