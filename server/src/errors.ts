/** The error catalog: every error a client can see has a stable code, an HTTP status and a message. */
export class OpslabError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly headers: Record<string, string>;

  constructor(code: string, statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'OpslabError';
    this.code = code;
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

export const errors = {
  badRequest: (message: string) => new OpslabError('OPSLAB_ERR_BAD_REQUEST', 400, message),
  unauthorized: (message = 'A valid attempt token is required.') =>
    new OpslabError('OPSLAB_ERR_UNAUTHORIZED', 401, message),
  forbiddenOrigin: (origin: string) =>
    new OpslabError('OPSLAB_ERR_ORIGIN', 403, `Requests from origin ${origin} are not allowed.`),
  exerciseNotFound: (id: string) =>
    new OpslabError('OPSLAB_ERR_EXERCISE_NOT_FOUND', 404, `There is no exercise with id "${id}".`),
  attemptNotFound: () => new OpslabError('OPSLAB_ERR_ATTEMPT_NOT_FOUND', 404, 'There is no such attempt.'),
  attemptEnded: (state: string) =>
    new OpslabError('OPSLAB_ERR_ATTEMPT_ENDED', 410, `This attempt has ended (${state}).`),
  attemptNotRunning: (state: string) =>
    new OpslabError('OPSLAB_ERR_ATTEMPT_STATE', 409, `This attempt is ${state}, not running.`),
  shellRunning: () =>
    new OpslabError('OPSLAB_ERR_SHELL_RUNNING', 409, 'The shell is still running; there is nothing to restart.'),
  sandboxMissing: () =>
    new OpslabError(
      'OPSLAB_ERR_SANDBOX_MISSING',
      409,
      'The sandbox of this attempt is gone (it was removed outside opslab). The attempt can still be submitted.',
    ),
  capacity: (retryAfterSeconds: number) =>
    new OpslabError(
      'OPSLAB_ERR_CAPACITY',
      503,
      'All sandboxes are in use. Please try again in a minute.',
      { 'retry-after': String(retryAfterSeconds) },
    ),
  sandboxFailed: (detail: string) =>
    new OpslabError('OPSLAB_ERR_SANDBOX_FAILED', 502, `The sandbox could not be started: ${detail}`),
  noChecks: () => new OpslabError('OPSLAB_ERR_NO_CHECKS', 409, 'This exercise has no checks to run.'),
  checksTooSoon: (retryAfterSeconds: number) =>
    new OpslabError(
      'OPSLAB_ERR_CHECKS_RATE',
      429,
      `Checks ran a moment ago; try again in ${retryAfterSeconds} s.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  noMoreHints: () => new OpslabError('OPSLAB_ERR_NO_MORE_HINTS', 409, 'Every hint is already revealed.'),
  recordingMissing: () =>
    new OpslabError('OPSLAB_ERR_RECORDING_NOT_FOUND', 404, 'This attempt has no recording.'),
  noFeedback: () =>
    new OpslabError('OPSLAB_ERR_NO_FEEDBACK', 403, 'Checks and hints are not part of this attempt.'),
  inviteNotFound: () => new OpslabError('OPSLAB_ERR_INVITE_NOT_FOUND', 404, 'There is no such invite.'),
  inviteRevoked: () =>
    new OpslabError('OPSLAB_ERR_INVITE_REVOKED', 410, 'This invite was withdrawn by the hiring team.'),
  inviteExpired: () =>
    new OpslabError(
      'OPSLAB_ERR_INVITE_EXPIRED',
      410,
      'This invite has expired before it was started. Ask the hiring team for a new one.',
    ),
  inviteState: (message: string) => new OpslabError('OPSLAB_ERR_INVITE_STATE', 409, message),
  diffMissing: () =>
    new OpslabError('OPSLAB_ERR_DIFF_NOT_FOUND', 404, 'What changed is known once the attempt has been graded.'),
  practiceOnly: () => new OpslabError('OPSLAB_ERR_PRACTICE_ONLY', 403, 'This is only available in practice attempts.'),
  practiceOff: () =>
    new OpslabError('OPSLAB_ERR_PRACTICE_OFF', 403, 'Practice is turned off on this opslab. Ask its operator.'),
  practiceLimit: (title: string) =>
    new OpslabError(
      'OPSLAB_ERR_PRACTICE_LIMIT',
      409,
      `You already have a practice sandbox running (${title}). Submit it or give up on it before starting another.`,
    ),
  solutionLocked: () =>
    new OpslabError('OPSLAB_ERR_SOLUTION_LOCKED', 409, 'The solution is shown once you submit or give up.'),
  attemptBusy: () =>
    new OpslabError('OPSLAB_ERR_ATTEMPT_BUSY', 409, 'This attempt is starting or ending right now; try again in a moment.'),
};
