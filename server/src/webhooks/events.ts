import type { Attempt } from '../store/attempts-repo.js';
import type { StoredRun } from '../store/grading-repo.js';
import type { Rating, Recommendation } from '../../../contract/index.js';

/**
 * What happened in the attempt lifecycle, as the domain services tell it. The services publish; whoever cares
 * (the webhook service) subscribes. Publishing never waits for a subscriber and never fails the publisher: a
 * subscriber that throws is logged and left out.
 */
export type DomainEvent =
  | { type: 'invite.started'; attempt: Attempt }
  | { type: 'attempt.ended'; attempt: Attempt }
  | { type: 'attempt.graded'; attempt: Attempt; run: StoredRun }
  | {
      type: 'review.saved';
      attemptId: string;
      /** The attempt reviewed, as it was when the review was saved. */
      attempt: Attempt;
      reviewerId: string;
      review: { ratings: Record<string, Rating>; recommendation: Recommendation | null; summary: string };
    };

/** A listener may answer with a promise: the publisher waits for it (what it stores is stored when publish resolves). */
export type DomainEventListener = (event: DomainEvent, at: number) => void | Promise<void>;

/** The publishing side, as the domain services see it. */
export interface EventPublisher {
  /** Resolves once every listener is done; never rejects (a listener's failure goes to the error handler). */
  publish(event: DomainEvent): Promise<void>;
}

export class DomainEvents implements EventPublisher {
  private readonly listeners = new Set<DomainEventListener>();

  constructor(private readonly onListenerError: (err: Error, event: DomainEvent) => void = () => undefined) {}

  /** Returns the unsubscribe function. */
  subscribe(listener: DomainEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async publish(event: DomainEvent): Promise<void> {
    const at = Date.now();
    await Promise.all(
      [...this.listeners].map(async (listener) => {
        try {
          await listener(event, at);
        } catch (err) {
          this.onListenerError(err as Error, event);
        }
      }),
    );
  }
}
