import { ERROR_CODES, type ErrorCode } from '../../contract/errors.js';

/** The error catalog: every error a client can see has a stable code, an HTTP status and a message. */
export class OpslabError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'OpslabError';
    this.code = code;
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

export const errors = {
  badRequest: (message: string) => new OpslabError(ERROR_CODES.badRequest, 400, message),
  unauthorized: (message = 'A valid attempt token is required.') =>
    new OpslabError(ERROR_CODES.unauthorized, 401, message),
  forbiddenOrigin: (origin: string) =>
    new OpslabError(ERROR_CODES.origin, 403, `Requests from origin ${origin} are not allowed.`),
  exerciseNotFound: (id: string) =>
    new OpslabError(ERROR_CODES.exerciseNotFound, 404, `There is no exercise with id "${id}".`),
  /** The stored copy of a pinned exercise version is gone (the data directory lost it): never another version. */
  exerciseVersionMissing: (id: string, version: string) =>
    new OpslabError(
      ERROR_CODES.exerciseVersionMissing,
      409,
      `The version of exercise "${id}" this was made with (${version.slice(0, 12)}) is no longer stored on this server, ` +
        'and no other version is used in its place. Ask the person who invited you for a new invite.',
    ),
  attemptNotFound: () => new OpslabError(ERROR_CODES.attemptNotFound, 404, 'There is no such attempt.'),
  attemptEnded: (state: string) =>
    new OpslabError(ERROR_CODES.attemptEnded, 410, `This attempt has ended (${state}).`),
  attemptNotRunning: (state: string) =>
    new OpslabError(ERROR_CODES.attemptState, 409, `This attempt is ${state}, not running.`),
  shellRunning: () =>
    new OpslabError(ERROR_CODES.shellRunning, 409, 'The shell is still running; there is nothing to restart.'),
  sandboxMissing: () =>
    new OpslabError(
      ERROR_CODES.sandboxMissing,
      409,
      'The sandbox of this attempt is gone (it was removed outside opslab). The attempt can still be submitted.',
    ),
  capacity: (retryAfterSeconds: number) =>
    new OpslabError(
      ERROR_CODES.capacity,
      503,
      'All sandboxes are in use. Please try again in a minute.',
      { 'retry-after': String(retryAfterSeconds) },
    ),
  sandboxFailed: (detail: string) =>
    new OpslabError(ERROR_CODES.sandboxFailed, 502, `The sandbox could not be started: ${detail}`),
  noChecks: () => new OpslabError(ERROR_CODES.noChecks, 409, 'This exercise has no checks to run.'),
  gradingBusy: (waiting: number, retryAfterSeconds: number) =>
    new OpslabError(
      ERROR_CODES.capacity,
      503,
      `The grader is busy: ${waiting} check runs are already waiting. Please try again in ${retryAfterSeconds} s.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  checksTooSoon: (retryAfterSeconds: number) =>
    new OpslabError(
      ERROR_CODES.checksRate,
      429,
      `Checks ran a moment ago; try again in ${retryAfterSeconds} s.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  noMoreHints: () => new OpslabError(ERROR_CODES.noMoreHints, 409, 'Every hint is already revealed.'),
  recordingMissing: () =>
    new OpslabError(ERROR_CODES.recordingNotFound, 404, 'This attempt has no recording.'),
  noFeedback: () =>
    new OpslabError(ERROR_CODES.noFeedback, 403, 'Checks and hints are not part of this attempt.'),
  inviteNotFound: () => new OpslabError(ERROR_CODES.inviteNotFound, 404, 'There is no such invite.'),
  inviteRevoked: () =>
    new OpslabError(ERROR_CODES.inviteRevoked, 410, 'This invite was withdrawn by the hiring team.'),
  inviteExpired: () =>
    new OpslabError(
      ERROR_CODES.inviteExpired,
      410,
      'This invite has expired before it was started. Ask the hiring team for a new one.',
    ),
  inviteState: (message: string) => new OpslabError(ERROR_CODES.inviteState, 409, message),
  diffMissing: () =>
    new OpslabError(ERROR_CODES.diffNotFound, 404, 'What changed is known once the attempt has been graded.'),
  practiceOnly: () => new OpslabError(ERROR_CODES.practiceOnly, 403, 'This is only available in practice attempts.'),
  practiceOff: () =>
    new OpslabError(ERROR_CODES.practiceOff, 403, 'Practice is turned off on this opslab. Ask its operator.'),
  practiceLimit: (title: string) =>
    new OpslabError(
      ERROR_CODES.practiceLimit,
      409,
      `You already have a practice sandbox running (${title}). Submit it or give up on it before starting another.`,
    ),
  solutionLocked: () =>
    new OpslabError(ERROR_CODES.solutionLocked, 409, 'The solution is shown once you submit or give up.'),
  attemptBusy: () =>
    new OpslabError(ERROR_CODES.attemptBusy, 409, 'This attempt is starting or ending right now; try again in a moment.'),
  startRate: (retryAfterSeconds: number, what: string) =>
    new OpslabError(
      ERROR_CODES.startRate,
      429,
      `Too many ${what} from your address; try again in ${retryAfterSeconds} s.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  storageFull: (mode: 'practice' | 'interview') =>
    new OpslabError(
      ERROR_CODES.storageFull,
      507,
      mode === 'practice'
        ? 'This opslab has no room left for new practice attempts: its storage is nearly full. Please try again later.'
        : 'This opslab has no room left to store a new attempt: its storage is full. Please tell the hiring team.',
    ),
  notRegradable: (why: string) => new OpslabError(ERROR_CODES.notRegradable, 409, `This attempt cannot be graded again: ${why}`),
  notGraded: (why: string) => new OpslabError(ERROR_CODES.notGraded, 409, `This attempt has no grade to confirm checks of: ${why}`),
  checkNotFound: (checkId: string) =>
    new OpslabError(ERROR_CODES.checkNotFound, 404, `The current grading of this attempt has no check "${checkId}".`),
  notAdvisory: (checkId: string) =>
    new OpslabError(
      ERROR_CODES.notAdvisory,
      409,
      `The check "${checkId}" is not advisory: the grader's verdict counts as it is, there is nothing to confirm.`,
    ),
};
