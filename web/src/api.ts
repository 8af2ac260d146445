// Typed client for the opslab HTTP API (docs/api.md). Every call resolves to the typed body or throws an
// ApiError; a request that never got an answer is an ApiError with status 0 and code NETWORK.

export type {
  AttemptMode,
  AttemptState,
  AttemptView,
  CandidateCheckResult as CheckResult,
  CandidateCheckRun as CheckRun,
  CheckVerdict,
  Difficulty,
  EndReason,
  ErrorBody,
  Exercise,
  ExerciseCheck,
  ExerciseSummary,
  HintsView,
  SandboxStatus as SandboxState,
} from '../../contract/index.js';
import { ERROR_CODES } from '../../contract/errors.js';
import type {
  AttemptView,
  CandidateCheckRun,
  CreateAttemptBody,
  ErrorBody,
  Exercise,
  ExerciseSummary,
  HintsView,
  StaffExerciseSummary,
} from '../../contract/index.js';

/** Server error codes the pages tell apart (a 409 can mean several things). */
export const SERVER_ERROR = {
  attemptState: ERROR_CODES.attemptState,
  noChecks: ERROR_CODES.noChecks,
  checksRate: ERROR_CODES.checksRate,
  noMoreHints: ERROR_CODES.noMoreHints,
  sandboxMissing: ERROR_CODES.sandboxMissing,
} as const;

/** Codes the client itself produces, next to the server's OPSLAB_ERR_* codes. */
export const CLIENT_ERROR = {
  network: 'NETWORK',
  badResponse: 'BAD_RESPONSE',
} as const;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when no answer came back. */
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds from a Retry-After header, when the server sent one. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = (body as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Extra headers, such as `authorization: Bearer <invite token>`. */
  headers?: Record<string, string>;
}

let csrfToken: string | null = null;

/** The signed-in interviewer's CSRF token, sent with every request that changes something. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** A JSON request to the API; failures become ApiError with the server's code and message. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const init: RequestInit = {
    method,
    headers,
    // The attempt cookie is HttpOnly and path-scoped; same-origin requests carry it.
    credentials: 'same-origin',
    signal: options.signal ?? null,
  };
  if (options.body !== undefined) {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }

  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, CLIENT_ERROR.network, 'Cannot reach the opslab server. Check your connection and try again.');
  }

  let body: unknown = null;
  const text = await response.text().catch(() => '');
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }

  if (!response.ok) {
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    if (isErrorBody(body)) {
      throw new ApiError(response.status, body.error.code, body.error.message, retryAfter);
    }
    throw new ApiError(
      response.status,
      CLIENT_ERROR.badResponse,
      `The server answered ${response.status} ${response.statusText}`.trim(),
      retryAfter,
    );
  }
  if (response.status === 204) return undefined as T;
  if (body === null) {
    throw new ApiError(response.status, CLIENT_ERROR.badResponse, 'The server sent an unreadable answer.');
  }
  return body as T;
}

export const api = {
  async listExercises(signal?: AbortSignal): Promise<ExerciseSummary[]> {
    const body = await request<{ exercises: ExerciseSummary[] }>('/api/exercises', { signal });
    return body.exercises;
  },

  /** The exercise of an attempt the browser holds (its token cookie or the practice token): interview exercises too. */
  async getAttemptExercise(attemptId: string, signal?: AbortSignal): Promise<Exercise> {
    const body = await request<{ exercise: Exercise }>(`${attemptPath(attemptId)}/exercise`, { signal });
    return body.exercise;
  },

  /** Staff: every exercise, with where it is offered. */
  async listStaffExercises(signal?: AbortSignal): Promise<StaffExerciseSummary[]> {
    const body = await request<{ exercises: StaffExerciseSummary[] }>('/api/manage/exercises', { signal });
    return body.exercises;
  },

  /** The token in the answer is not kept: the server also sets it as an HttpOnly cookie. */
  async createAttempt(exerciseId: string, signal?: AbortSignal): Promise<AttemptView> {
    const input: CreateAttemptBody = { exerciseId };
    const body = await request<{ attempt: AttemptView; token: string }>('/api/attempts', {
      method: 'POST',
      body: input,
      signal,
    });
    return body.attempt;
  },

  async getAttempt(id: string, signal?: AbortSignal): Promise<AttemptView> {
    const body = await request<{ attempt: AttemptView }>(attemptPath(id), { signal });
    return body.attempt;
  },

  async submitAttempt(id: string, signal?: AbortSignal): Promise<AttemptView> {
    const body = await request<{ attempt: AttemptView }>(`${attemptPath(id)}/submit`, { method: 'POST', signal });
    return body.attempt;
  },

  async restartShell(id: string, signal?: AbortSignal): Promise<AttemptView> {
    const body = await request<{ attempt: AttemptView }>(`${attemptPath(id)}/restart-shell`, {
      method: 'POST',
      signal,
    });
    return body.attempt;
  },

  /** Runs the exercise's checks now (seconds, up to a minute). 429 + Retry-After when they ran moments ago. */
  async runChecks(id: string, signal?: AbortSignal): Promise<CandidateCheckRun> {
    const body = await request<{ results: CandidateCheckRun }>(`${attemptPath(id)}/checks`, { method: 'POST', signal });
    return body.results;
  },

  async getHints(id: string, signal?: AbortSignal): Promise<HintsView> {
    const body = await request<{ hints: HintsView }>(`${attemptPath(id)}/hints`, { signal });
    return body.hints;
  },

  /** Reveals the next hint; the attempt records it. 409 when every hint is revealed already. */
  async revealHint(id: string, signal?: AbortSignal): Promise<HintsView> {
    const body = await request<{ hints: HintsView }>(`${attemptPath(id)}/hints`, { method: 'POST', signal });
    return body.hints;
  },
};

export function attemptPath(id: string): string {
  return `/api/attempts/${encodeURIComponent(id)}`;
}

/** ws:// or wss:// URL of an attempt's terminal (1 unless `terminal` says otherwise), on the page's own origin. */
export function terminalUrl(id: string, location: Location = window.location, terminal = 1): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${attemptPath(id)}/terminal${terminal === 1 ? '' : `?terminal=${terminal}`}`;
}

export function isAttemptActive(attempt: AttemptView): boolean {
  return attempt.state === 'running' || attempt.state === 'created';
}
