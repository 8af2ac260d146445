// Practice mode: the trainee's own progress, kept by the server under the browser's anonymous practice token.

import { attemptPath, request, type CheckRun } from '../api.js';

export type PracticeStatus = 'not-started' | 'in-progress' | 'done';

export interface PracticeProgress {
  exerciseId: string;
  status: PracticeStatus;
  bestScore: number | null;
  maxScore: number | null;
  attempts: number;
  activeAttemptId: string | null;
  lastAttemptId: string | null;
}

export interface PracticeState {
  enabled: boolean;
  timeLimitMinutes: number;
  exercises: PracticeProgress[];
}

export interface Solution {
  walkthrough: string | null;
  script: string | null;
}

/** The scorecard's dimensions, for showing an exercise's skills by name. */
export const SKILL_TITLES: Record<string, string> = {
  'linux-networking': 'Linux and networking',
  git: 'Git and collaboration',
  scripting: 'Scripting and automation',
  cicd: 'CI/CD',
  iac: 'Infrastructure as code',
  cloud: 'Cloud',
  observability: 'Observability and operations',
  communication: 'Communication',
};

export const practiceApi = {
  state: (signal?: AbortSignal) => request<PracticeState>('/api/practice', { signal }),
  reset: (id: string, signal?: AbortSignal) =>
    request<{ attempt: unknown }>(`${attemptPath(id)}/reset`, { method: 'POST', signal }),
  solution: async (id: string, signal?: AbortSignal) =>
    (await request<{ solution: Solution }>(`${attemptPath(id)}/solution`, { signal })).solution,
  grading: async (id: string, signal?: AbortSignal) =>
    (await request<{ grading: CheckRun | null }>(`${attemptPath(id)}/grading`, { signal })).grading,
};
