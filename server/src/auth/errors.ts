import { OpslabError } from '../errors.js';
import { ERROR_CODES } from '../../../contract/errors.js';

/** The errors of accounts and sessions a client can see. */
export const authErrors = {
  signIn: () => new OpslabError(ERROR_CODES.unauthorized, 401, 'Sign in to continue.'),
  sessionExpired: () =>
    new OpslabError(ERROR_CODES.unauthorized, 401, 'Your session has ended. Sign in again to continue.'),
  forbidden: (roles: readonly string[]) =>
    new OpslabError(
      ERROR_CODES.forbidden,
      403,
      roles.length === 1 && roles[0] === 'admin'
        ? 'This needs an admin account.'
        : 'Your account is not allowed to do this.',
    ),
  csrf: () =>
    new OpslabError(
      ERROR_CODES.csrf,
      403,
      'The request is missing a valid x-csrf-token header. Reload the page and try again.',
    ),
  login: () => new OpslabError(ERROR_CODES.login, 401, 'Wrong email or password.'),
  passwordLoginOff: () =>
    new OpslabError(
      ERROR_CODES.forbidden,
      403,
      'Password sign-in is turned off on this server: sign in with your organisation\'s single sign-on.',
    ),
  loginRate: (retryAfterSeconds: number) =>
    new OpslabError(
      ERROR_CODES.loginRate,
      429,
      `Too many failed sign-ins. Try again in ${waitText(retryAfterSeconds)}.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  setupLink: () =>
    new OpslabError(
      ERROR_CODES.setupLink,
      403,
      'This setup link is not valid: it was used already, it expired, or an account exists. Restart opslab for a new link if no account exists yet.',
    ),
  activationLink: () =>
    new OpslabError(
      ERROR_CODES.activationLink,
      403,
      'This account link is not valid: it was used already or it expired. Ask an admin for a new one.',
    ),
  password: (min: number, max: number) =>
    new OpslabError(ERROR_CODES.badRequest, 400, `A password needs ${min} to ${max} characters.`),
  emailTaken: () => new OpslabError(ERROR_CODES.emailTaken, 409, 'There is already an account with this email.'),
  userNotFound: () => new OpslabError(ERROR_CODES.userNotFound, 404, 'There is no such user.'),
  disableSelf: () => new OpslabError(ERROR_CODES.userState, 409, 'You cannot disable your own account.'),
  lastAdmin: () =>
    new OpslabError(
      ERROR_CODES.userState,
      409,
      'This is the last active admin; add or activate another admin before disabling this one.',
    ),
};

function waitText(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
