// Practice mode: the trainee's own progress, kept by the server under the browser's anonymous practice token.

import { attemptPath, request, type CheckRun } from '../api.js';
import type { PracticeState, Solution } from '../../../contract/index.js';

export { SKILL_TITLES, type PracticeProgress, type PracticeState, type PracticeStatus, type Solution } from '../../../contract/index.js';

export const practiceApi = {
  state: (signal?: AbortSignal) => request<PracticeState>('/api/practice', { signal }),
  reset: (id: string, signal?: AbortSignal) =>
    request<{ attempt: unknown }>(`${attemptPath(id)}/reset`, { method: 'POST', signal }),
  solution: async (id: string, signal?: AbortSignal) =>
    (await request<{ solution: Solution }>(`${attemptPath(id)}/solution`, { signal })).solution,
  grading: async (id: string, signal?: AbortSignal) =>
    (await request<{ grading: CheckRun | null }>(`${attemptPath(id)}/grading`, { signal })).grading,
};
