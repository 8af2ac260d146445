// The attempt this browser last worked on, so the catalog can offer to continue it. Only the id is kept:
// the token stays in its HttpOnly cookie.

const KEY = 'opslab.recentAttempt';

export function rememberAttempt(id: string): void {
  try {
    localStorage.setItem(KEY, id);
  } catch {
    // Storage may be disabled; continuing is then only possible by URL.
  }
}

export function recentAttempt(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function forgetAttempt(id: string): void {
  try {
    if (localStorage.getItem(KEY) === id) localStorage.removeItem(KEY);
  } catch {
    // As above.
  }
}
