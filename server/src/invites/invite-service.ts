import { createHmac, randomBytes } from 'node:crypto';
import type { Auth } from '../auth/index.js';
import { hashToken, type AttemptService } from '../attempts/attempt-service.js';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { Invite, InvitesRepo } from '../store/invites-repo.js';
import type { CandidateInvite, CreateInviteBody, InviteListQuery, InviteStatus, InviteView } from '../../../contract/invites.js';

export { INVITE_STATUSES, type InviteStatus, type InviteView } from '../../../contract/invites.js';

/** What a candidate is told before they start. */
export const CANDIDATE_RULES = [
  'The clock starts when you press Start. It runs on the server: closing the tab or losing the connection does not stop it.',
  'Reopen your invite link at any time to come back to the same shell, with your files as you left them.',
  'You may use documentation and search engines in another tab. The sandbox itself has no internet access.',
  'When the time is up, the terminal closes and your work is submitted as it stands.',
  'Submit when you are done; nothing can be changed afterwards.',
];

export const RECORDED = [
  'Everything the terminal shows and everything you type, with timings, so it can be replayed.',
  'The commands you run, with their exit status.',
  'The files you change in the sandbox.',
  'Each check of your progress and each hint you reveal.',
];

const DAY_MS = 86_400_000;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface InviteServiceDeps {
  repo: InvitesRepo;
  attempts: AttemptService;
  catalog: ExerciseCatalog;
  config: Config;
  auth: Auth;
  /** The installation's secret: invite tokens are derived from it and the invite id. */
  secret: Buffer;
}

/**
 * Invites: one candidate's access to one timed attempt. The token in the link is HMAC(secret, invite id), so the
 * link can be shown again while only the token's hash is looked up; revoking or expiry refuse it at once.
 */
export class InviteService {
  private readonly starting = new Map<string, Promise<{ attempt: Attempt; created: boolean }>>();

  constructor(private readonly deps: InviteServiceDeps) {}

  token(invite: Pick<Invite, 'id'>): string {
    return createHmac('sha256', this.deps.secret).update(`invite:${invite.id}`).digest('base64url');
  }

  link(invite: Pick<Invite, 'id'>): string {
    return `${this.deps.config.publicUrl}/invite#${this.token(invite)}`;
  }

  get(id: string): Invite | undefined {
    return this.deps.repo.get(id);
  }

  forAttempt(attemptId: string): Invite | undefined {
    return this.deps.repo.byAttempt(attemptId);
  }

  create(input: CreateInviteBody, userId: string): Invite {
    const exercise = this.deps.catalog.get(input.exerciseId);
    if (!exercise) throw errors.exerciseNotFound(input.exerciseId);
    if (!exercise.modes.includes('interview')) {
      throw errors.badRequest(`"${exercise.id}" is not offered in interviews: its exercise.yaml says modes: [${exercise.modes.join(', ')}].`);
    }
    const now = Date.now();
    const id = `i_${randomBytes(10).toString('hex')}`;
    const invite: Invite = {
      id,
      tokenHash: '',
      exerciseId: exercise.id,
      candidateName: input.candidateName.trim(),
      candidateEmail: input.candidateEmail.trim(),
      timeLimitSeconds: (input.timeLimitMinutes ?? exercise.timeLimitMinutes) * 60,
      showFeedback: input.showFeedback,
      note: input.note?.trim() || null,
      createdBy: userId,
      createdAt: now,
      expiresAt: now + (input.expiresInDays ?? 7) * DAY_MS,
      revokedAt: null,
      attemptId: null,
    };
    invite.tokenHash = hashToken(this.token(invite));
    if (invite.candidateName === '') throw errors.badRequest('The candidate needs a name.');
    this.deps.repo.insert(invite);
    this.deps.auth.audit({ userId, action: 'invite.create', inviteId: id, detail: { exerciseId: exercise.id } });
    return invite;
  }

  status(invite: Invite, attempt = invite.attemptId ? this.deps.attempts.get(invite.attemptId) : undefined): InviteStatus {
    if (invite.revokedAt !== null && (!attempt || attempt.endReason === 'revoked' || attempt.state === 'failed')) {
      return 'revoked';
    }
    if (attempt) {
      if (attempt.state === 'created' || attempt.state === 'running') return 'running';
      if (attempt.state === 'failed') return 'failed';
      return 'finished';
    }
    return invite.expiresAt <= Date.now() ? 'expired' : 'pending';
  }

  view(invite: Invite): InviteView {
    return {
      id: invite.id,
      exerciseId: invite.exerciseId,
      exerciseTitle: this.deps.catalog.get(invite.exerciseId)?.title ?? invite.exerciseId,
      candidateName: invite.candidateName,
      candidateEmail: invite.candidateEmail,
      timeLimitSeconds: invite.timeLimitSeconds,
      showFeedback: invite.showFeedback,
      note: invite.note,
      createdBy: { id: invite.createdBy, name: this.deps.auth.userName(invite.createdBy) ?? 'unknown' },
      createdAt: iso(invite.createdAt)!,
      expiresAt: iso(invite.expiresAt)!,
      revokedAt: iso(invite.revokedAt),
      status: this.status(invite),
      attemptId: invite.attemptId,
      link: this.link(invite),
    };
  }

  list(filter: InviteListQuery = {}): InviteView[] {
    const views = this.deps.repo.list({ exerciseId: filter.exerciseId }).map((i) => this.view(i));
    return filter.status ? views.filter((v) => v.status === filter.status) : views;
  }

  /** Withdraws an invite: its token stops working at once, and a running attempt ends (graded as it stands). */
  async revoke(id: string, userId: string): Promise<Invite> {
    const invite = this.deps.repo.get(id);
    if (!invite) throw errors.inviteNotFound();
    if (!this.deps.repo.revoke(id, Date.now())) throw errors.inviteState('This invite is already revoked.');
    this.deps.auth.audit({ userId, action: 'invite.revoke', inviteId: id, attemptId: invite.attemptId });
    await this.starting.get(id)?.catch(() => undefined);
    const current = this.deps.repo.get(id)!;
    const attempt = current.attemptId ? this.deps.attempts.get(current.attemptId) : undefined;
    if (attempt?.state === 'running') {
      await this.deps.attempts.end(attempt.id, 'revoked').catch((err: Error) => {
        // Ended meanwhile (submitted or expired): the revocation still holds for the token.
        if (!/not running/.test(err.message)) throw err;
      });
    }
    return this.deps.repo.get(id)!;
  }

  /** Gives a running attempt more time, or raises the time limit of an invite not started yet. */
  extend(id: string, minutes: number, userId: string): Invite {
    const invite = this.deps.repo.get(id);
    if (!invite) throw errors.inviteNotFound();
    const status = this.status(invite);
    if (status === 'running' && invite.attemptId) {
      const attempt = this.deps.attempts.get(invite.attemptId);
      if (attempt?.state !== 'running') throw errors.inviteState('The attempt is still starting; try again in a moment.');
      this.deps.attempts.extend(invite.attemptId, minutes * 60);
    } else if (status !== 'pending') {
      throw errors.inviteState(`This invite is ${status}: there is no clock to extend.`);
    }
    this.deps.repo.setTimeLimit(id, invite.timeLimitSeconds + minutes * 60);
    this.deps.auth.audit({ userId, action: 'attempt.extend', inviteId: id, attemptId: invite.attemptId, detail: { minutes } });
    return this.deps.repo.get(id)!;
  }

  /** The invite a candidate's token opens; refused when unknown (404), revoked or expired unstarted (410). */
  fromToken(token: string): Invite {
    const invite = this.deps.repo.byTokenHash(hashToken(token));
    if (!invite) throw errors.inviteNotFound();
    if (invite.revokedAt !== null) throw errors.inviteRevoked();
    if (!invite.attemptId && invite.expiresAt <= Date.now()) throw errors.inviteExpired();
    return invite;
  }

  /** Whether a request holding an attempt's token may still use it: an invite's attempt dies with the invite. */
  assertAttemptAccess(attempt: Attempt): void {
    if (!attempt.inviteId) return;
    const invite = this.deps.repo.get(attempt.inviteId);
    if (!invite || invite.revokedAt !== null) throw errors.inviteRevoked();
  }

  candidateView(invite: Invite): CandidateInvite {
    const exercise = this.deps.catalog.get(invite.exerciseId);
    const attempt = invite.attemptId ? this.deps.attempts.get(invite.attemptId) : undefined;
    const status = this.status(invite, attempt);
    return {
      candidateName: invite.candidateName,
      exercise: {
        id: invite.exerciseId,
        title: exercise?.title ?? invite.exerciseId,
        summary: exercise?.summary ?? '',
        difficulty: exercise?.difficulty ?? '',
        skills: exercise?.skills ?? [],
      },
      timeLimitSeconds: invite.timeLimitSeconds,
      showFeedback: invite.showFeedback,
      expiresAt: iso(invite.expiresAt),
      recorded: RECORDED,
      rules: CANDIDATE_RULES,
      state: status === 'running' ? 'running' : status === 'finished' ? 'finished' : 'pending',
      attemptId: status === 'running' || status === 'finished' ? invite.attemptId : null,
    };
  }

  /**
   * Starts the invite's attempt, or returns the one already started (reopening the link resumes it). A start that
   * failed (the sandbox could not be provisioned) may be tried again. Concurrent starts share one.
   */
  start(token: string): Promise<{ attempt: Attempt; created: boolean }> {
    const invite = this.fromToken(token);
    const pending = this.starting.get(invite.id);
    if (pending) return pending;
    const promise = this.doStart(invite, token).finally(() => this.starting.delete(invite.id));
    this.starting.set(invite.id, promise);
    return promise;
  }

  private async doStart(invite: Invite, token: string): Promise<{ attempt: Attempt; created: boolean }> {
    const existing = invite.attemptId ? this.deps.attempts.get(invite.attemptId) : undefined;
    if (existing && existing.state !== 'failed') return { attempt: existing, created: false };
    const { attempt } = await this.deps.attempts.start(invite.exerciseId, {
      timeLimitSeconds: invite.timeLimitSeconds,
      mode: 'interview',
      inviteId: invite.id,
      feedback: invite.showFeedback,
      token,
      onCreated: (attemptId) => this.deps.repo.setAttempt(invite.id, attemptId),
    });
    return { attempt, created: true };
  }
}
