import { weightedScore } from '../../../contract/index.js';
import type { WebhookEventData, WebhookEventType } from '../../../contract/webhooks.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { DomainEvent } from './events.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface WebhookEvent<T extends WebhookEventType = WebhookEventType> {
  type: T;
  data: WebhookEventData[T];
}

const ref = (a: Pick<Attempt, 'id' | 'inviteId' | 'exerciseId'>) => ({ attemptId: a.id, inviteId: a.inviteId, exerciseId: a.exerciseId });

/**
 * The webhook event a domain event makes, or null when it makes none. Webhooks are about interviews: practice
 * attempts make none. Payloads carry ids and results only: never an attempt's token, an invite's link, a check's
 * messages or the candidate's name and email.
 */
export function webhookEventOf(event: DomainEvent): WebhookEvent | null {
  switch (event.type) {
    case 'invite.started': {
      const a = event.attempt;
      if (a.mode !== 'interview') return null;
      return {
        type: 'invite.started',
        data: { ...ref(a), startedAt: iso(a.startedAt), deadline: iso(a.deadline), timeLimitSeconds: a.timeLimitSeconds },
      };
    }
    case 'attempt.ended': {
      const a = event.attempt;
      if (a.mode !== 'interview' || !a.endReason || a.endReason === 'preempted') return null;
      const type = a.endReason === 'submitted' ? 'attempt.submitted' : 'attempt.expired';
      return { type, data: { ...ref(a), endedAt: iso(a.endedAt), reason: a.endReason } };
    }
    case 'attempt.graded': {
      const { attempt: a, run } = event;
      if (a.mode !== 'interview') return null;
      return {
        type: 'attempt.graded',
        data: {
          ...ref(a),
          exerciseVersion: run.exerciseVersion ?? null,
          score: run.score,
          maxScore: run.maxScore,
          error: run.error,
          checks: run.results.map((c) => ({ id: c.id, title: c.title, points: c.points, verdict: c.verdict, advisory: c.advisory })),
          gradedAt: new Date(run.finishedAt).toISOString(),
          regrade: Boolean(run.requestedBy),
        },
      };
    }
    case 'review.saved': {
      const a = event.attempt;
      if (a.mode !== 'interview') return null;
      return {
        type: 'review.completed',
        data: {
          ...ref(a),
          reviewerId: event.reviewerId,
          recommendation: event.review.recommendation,
          weightedScore: weightedScore(event.review.ratings),
          // The numbers only: the reviewer's notes and summary stay in opslab.
          ratings: Object.fromEntries(Object.entries(event.review.ratings).map(([id, r]) => [id, r.rating])),
          updatedAt: new Date().toISOString(),
        },
      };
    }
  }
}
