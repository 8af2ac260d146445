// Rows for the suites that run the repositories on both databases: attempts, invites, check results and grading
// runs with plain defaults that a case overrides, and the staff accounts that invites and reviews refer to.
import type { CheckResult, CheckVerdict } from '../../contract/attempts.js';
import type { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import type { StoredRun } from '../../server/src/store/grading-repo.js';
import type { InvitesRepo } from '../../server/src/store/invites-repo.js';
import type { Sql } from '../../server/src/store/sql.js';

export const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
export const DAY = 24 * 3600 * 1000;

export type NewAttempt = Parameters<AttemptsRepo['insert']>[0];

/** A practice attempt that has just been created; `over` sets what a case is about. */
export const attempt = (id: string, over: Partial<NewAttempt> = {}): NewAttempt => ({
  id,
  exerciseId: 'ex-linux',
  state: 'created',
  tokenHash: `th_${id}`,
  timeLimitSeconds: 3600,
  createdAt: T0,
  startedAt: null,
  deadline: null,
  endedAt: null,
  endReason: null,
  sandboxId: null,
  sandboxStatus: 'provisioning',
  recordingPath: null,
  failure: null,
  seed: null,
  params: {},
  hintsRevealed: 0,
  mode: 'practice',
  inviteId: null,
  feedback: true,
  ownerHash: null,
  ...over,
});

export type NewInvite = Parameters<InvitesRepo['insert']>[0];

export const invite = (id: string, over: Partial<NewInvite> = {}): NewInvite => ({
  id,
  tokenHash: `ih_${id}`,
  exerciseId: 'ex-linux',
  candidateName: 'Ada Lovelace',
  candidateEmail: 'ada@example.test',
  timeLimitSeconds: 3600,
  showFeedback: true,
  note: null,
  createdBy: 'u_alice',
  createdAt: T0,
  expiresAt: T0 + 7 * DAY,
  revokedAt: null,
  attemptId: null,
  claimedAt: null,
  ...over,
});

export const check = (id: string, points: number, verdict: CheckVerdict, advisory = false): CheckResult => ({
  id,
  title: `Check ${id}`,
  points,
  advisory,
  visible: true,
  verdict,
  message: `message of ${id}`,
  details: `details of ${id}`,
  durationMs: 40,
});

export const run = (attemptId: string, kind: StoredRun['kind'], finishedAt: number, results: CheckResult[], over: Partial<StoredRun> = {}): Omit<StoredRun, 'id'> => ({
  attemptId,
  kind,
  startedAt: finishedAt - 1000,
  finishedAt,
  score: 0,
  maxScore: 0,
  results,
  cleanroom: [],
  error: null,
  exerciseVersion: 'v1',
  source: 'sandbox',
  requestedBy: null,
  ...over,
});

/** Staff accounts that invites (created_by) and reviews (reviewer_id) refer to. */
export async function addUsers(sql: Sql, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    await sql.run("INSERT INTO users (id, email, name, role, created_at) VALUES (?, ?, ?, 'interviewer', ?)", [id, `${id}@example.test`, id, T0]);
  }
}
