// The signed-in interviewer, as the staff pages see them. The session itself is an HttpOnly cookie; the CSRF
// token is kept in memory and sent by api.request with every change.

import { request, setCsrfToken } from '../api.js';
import type {
  ActivateBody,
  AuthState,
  CreatedUser,
  CreateUserBody,
  LoginBody,
  SetupBody,
  SignedInBody,
  UserView,
} from '../../../contract/index.js';

export { PASSWORD_LENGTH, type AuthState, type Role, type UserView as User } from '../../../contract/index.js';

type User = UserView;

export async function loadAuthState(signal?: AbortSignal): Promise<AuthState> {
  const state = await request<AuthState>('/api/auth/state', { signal });
  setCsrfToken(state.csrfToken);
  return state;
}

async function signIn(path: string, body: SetupBody | LoginBody | ActivateBody, signal?: AbortSignal): Promise<User> {
  const answer = await request<SignedInBody>(path, { method: 'POST', body, signal });
  setCsrfToken(answer.csrfToken);
  return answer.user;
}

export function login(email: string, password: string, signal?: AbortSignal): Promise<User> {
  return signIn('/api/auth/login', { email, password }, signal);
}

/** Creates the first admin with the one-time setup link's token. */
export function setupFirstAdmin(input: SetupBody, signal?: AbortSignal): Promise<User> {
  return signIn('/api/auth/setup', input, signal);
}

/** Sets the password of an account an admin created, with the activation link's token. */
export function activateAccount(input: ActivateBody, signal?: AbortSignal): Promise<User> {
  return signIn('/api/auth/activate', input, signal);
}

export async function logout(): Promise<void> {
  try {
    await request<void>('/api/auth/logout', { method: 'POST' });
  } finally {
    setCsrfToken(null);
  }
}

export const usersApi = {
  async list(signal?: AbortSignal): Promise<User[]> {
    return (await request<{ users: User[] }>('/api/manage/users', { signal })).users;
  },

  /** The activation link comes back once; only its hash stays on the server. */
  async create(input: CreateUserBody, signal?: AbortSignal): Promise<CreatedUser> {
    return request<CreatedUser>('/api/manage/users', { method: 'POST', body: input, signal });
  },

  async disable(id: string, signal?: AbortSignal): Promise<User> {
    return (await request<{ user: User }>(`/api/manage/users/${encodeURIComponent(id)}/disable`, { method: 'POST', signal }))
      .user;
  },
};

/**
 * Where to go after signing in: `next` when it is a path of this site under /manage, else /manage. Anything else
 * (another origin, `//host`, a backslash trick, a page outside the staff area) is ignored.
 */
export function safeNext(next: string | null, origin: string = location.origin): string {
  if (!next || !next.startsWith('/manage') || next.includes('\\')) return '/manage';
  if (!/^\/manage(?:[/?#]|$)/.test(next)) return '/manage';
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return '/manage';
  }
  if (url.origin !== origin || !/^\/manage(?:\/|$)/.test(url.pathname)) return '/manage';
  return url.pathname + url.search + url.hash;
}
