// Practice mode (docs/api.md, "Practice"): the trainee's own progress, kept under an anonymous practice token.

export type PracticeStatus = 'not-started' | 'in-progress' | 'done';

export interface PracticeProgress {
  exerciseId: string;
  status: PracticeStatus;
  /** The best final score over the trainee's finished attempts of the exercise. */
  bestScore: number | null;
  maxScore: number | null;
  attempts: number;
  activeAttemptId: string | null;
  lastAttemptId: string | null;
}

/** `GET /api/practice`. */
export interface PracticeState {
  enabled: boolean;
  timeLimitMinutes: number;
  exercises: PracticeProgress[];
}

/** `GET /api/attempts/:id/solution`: the reference solution, once a practice attempt is over. */
export interface Solution {
  walkthrough: string | null;
  script: string | null;
}
