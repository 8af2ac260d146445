// The signed-in interviewer, as the staff pages see them. The session itself is an HttpOnly cookie; the CSRF
// token is kept in memory and sent by api.request with every change.

import { request, setCsrfToken } from '../api.js';

export type Role = 'admin' | 'interviewer';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
}

export interface AuthState {
  setupRequired: boolean;
  user: User | null;
  csrfToken: string | null;
}

export async function loadAuthState(signal?: AbortSignal): Promise<AuthState> {
  const state = await request<AuthState>('/api/auth/state', { signal });
  setCsrfToken(state.csrfToken);
  return state;
}
