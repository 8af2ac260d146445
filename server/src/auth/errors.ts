import { OpslabError } from '../errors.js';

/** The errors of accounts and sessions a client can see. */
export const authErrors = {
  signIn: () => new OpslabError('OPSLAB_ERR_UNAUTHORIZED', 401, 'Sign in to continue.'),
  sessionExpired: () =>
    new OpslabError('OPSLAB_ERR_UNAUTHORIZED', 401, 'Your session has ended. Sign in again to continue.'),
  forbidden: (roles: readonly string[]) =>
    new OpslabError(
      'OPSLAB_ERR_FORBIDDEN',
      403,
      roles.length === 1 && roles[0] === 'admin'
        ? 'This needs an admin account.'
        : 'Your account is not allowed to do this.',
    ),
  csrf: () =>
    new OpslabError(
      'OPSLAB_ERR_CSRF',
      403,
      'The request is missing a valid x-csrf-token header. Reload the page and try again.',
    ),
  login: () => new OpslabError('OPSLAB_ERR_LOGIN', 401, 'Wrong email or password.'),
  loginRate: (retryAfterSeconds: number) =>
    new OpslabError(
      'OPSLAB_ERR_LOGIN_RATE',
      429,
      `Too many failed sign-ins. Try again in ${waitText(retryAfterSeconds)}.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  setupLink: () =>
    new OpslabError(
      'OPSLAB_ERR_SETUP_LINK',
      403,
      'This setup link is not valid: it was used already, it expired, or an account exists. Restart opslab for a new link if no account exists yet.',
    ),
  activationLink: () =>
    new OpslabError(
      'OPSLAB_ERR_ACTIVATION_LINK',
      403,
      'This account link is not valid: it was used already or it expired. Ask an admin for a new one.',
    ),
  password: (min: number, max: number) =>
    new OpslabError('OPSLAB_ERR_BAD_REQUEST', 400, `A password needs ${min} to ${max} characters.`),
  emailTaken: () => new OpslabError('OPSLAB_ERR_EMAIL_TAKEN', 409, 'There is already an account with this email.'),
  userNotFound: () => new OpslabError('OPSLAB_ERR_USER_NOT_FOUND', 404, 'There is no such user.'),
  disableSelf: () => new OpslabError('OPSLAB_ERR_USER_STATE', 409, 'You cannot disable your own account.'),
  lastAdmin: () =>
    new OpslabError(
      'OPSLAB_ERR_USER_STATE',
      409,
      'This is the last active admin; add or activate another admin before disabling this one.',
    ),
};

function waitText(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
