import { ApiError } from '../api.js';

/** A sentence for the user. 5xx details never reach the browser anyway; 4xx messages are the server's own. */
export function errorText(err: unknown, fallback: string): string {
  if (err instanceof ApiError) {
    if (err.isNetwork) return err.message;
    if (err.status >= 500) return `${fallback} The server had a problem (${err.status}); please try again.`;
    return err.message;
  }
  return fallback;
}
