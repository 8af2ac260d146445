import { randomBytes } from 'node:crypto';
import type { Auth, StaffUser } from '../auth/index.js';
import type { AttemptService } from '../attempts/attempt-service.js';
import { hashToken, newAttemptToken, newClaimToken, unusableTokenHash } from '../attempts/tokens.js';
import type { Config } from '../config.js';
import { errors, OpslabError } from '../errors.js';
import { ERROR_CODES } from '../../../contract/errors.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { Invite, InviteAttemptState, InvitesRepo } from '../store/invites-repo.js';
import type { EventPublisher } from '../webhooks/events.js';
import type {
  CandidateInvite,
  CreatedInvite,
  CreateInviteBody,
  InviteListQuery,
  InviteStatus,
  InviteVersionStatus,
  InviteView,
} from '../../../contract/invites.js';
import { INVITE_LIMITS } from '../../../contract/invites.js';

export { INVITE_STATUSES, type InviteStatus, type InviteView } from '../../../contract/invites.js';

/** What a candidate is told before they start. */
export const CANDIDATE_RULES = [
  'The clock starts when you press Start. It runs on the server: closing the tab or losing the connection does not stop it.',
  'Reopen your invite link in the same browser at any time to come back to the same shell, with your files as you left them.',
  'Once started, the exercise belongs to this browser: the link alone does not open it elsewhere. If you lose this browser, ask the person who invited you for a new link.',
  'You may use documentation and search engines in another tab. The sandbox itself has no internet access.',
  'When the time is up, the terminal closes and your work is submitted as it stands.',
  'Submit when you are done; nothing can be changed afterwards.',
];

export const RECORDED = [
  'Everything the terminal shows and everything you type, with timings, so it can be replayed.',
  'The commands you run, with their exit status.',
  'The files you change in the sandbox.',
  'Each check of your progress and each hint you reveal.',
  'Files you upload or download, and pastes of 200 characters or more into the terminal or the editor (their size).',
  'When this tab is hidden or loses focus and for how long, and stretches of several minutes without input.',
];

const DAY_MS = 86_400_000;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface InviteServiceDeps {
  repo: InvitesRepo;
  attempts: AttemptService;
  catalog: ExerciseCatalog;
  config: Config;
  auth: Auth;
  /** Where `invite.started` goes (the webhooks subscribe). */
  events?: EventPublisher;
}

/** Who acts on an invite: staff members, by id and role. */
export type Actor = Pick<StaffUser, 'id' | 'role'>;

/** What a start gives the candidate's browser: the attempt, and the attempt's own credential (for its cookie). */
export interface Claim {
  attempt: Attempt;
  created: boolean;
  token: string;
}

const ACTION_WORDS = { revoke: 'revoke', extend: 'add time to', reissue: 'reissue the link of', delete: 'delete' } as const;
export type InviteAction = keyof typeof ACTION_WORDS;

/**
 * Invites: one candidate's access to one timed attempt. The link carries a claim token (random, stored only as its
 * hash) that is shown once, to the invite's creator. Opening it and pressing Start claims it: the candidate's browser
 * gets the attempt's own token (an HttpOnly cookie nobody else sees) and the link stops opening the attempt. A lost
 * browser is handled by a reissue: a new claim link, and the old link and the old browser's credential stop working.
 * Revoke, extend, reissue and deletion are for the invite's creator and admins; each is written to the audit log.
 */
export class InviteService {
  private readonly starting = new Map<string, Promise<Claim>>();

  constructor(private readonly deps: InviteServiceDeps) {}

  private link(token: string): string {
    return `${this.deps.config.publicUrl}/invite#${token}`;
  }

  get(id: string): Promise<Invite | undefined> {
    return this.deps.repo.get(id);
  }

  forAttempt(attemptId: string): Promise<Invite | undefined> {
    return this.deps.repo.byAttempt(attemptId);
  }

  /** Creates an invite; the answer holds its link, which is not kept anywhere and never shown again. */
  async create(input: CreateInviteBody, userId: string): Promise<{ invite: Invite; link: string }> {
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
      expiresAt: now + (input.expiresInDays ?? INVITE_LIMITS.defaultExpiresInDays) * DAY_MS,
      revokedAt: null,
      attemptId: null,
      claimedAt: null,
      // The candidate gets this version (its instructions, files and checks), whatever the exercise becomes.
      exerciseVersion: exercise.version,
      fileUpload: input.files?.upload ?? null,
      fileDownload: input.files?.download ?? null,
    };
    const token = newClaimToken();
    invite.tokenHash = hashToken(token);
    if (invite.candidateName === '') throw errors.badRequest('The candidate needs a name.');
    await this.deps.repo.insert(invite);
    await this.deps.auth.audit({ userId, action: 'invite.create', inviteId: id, detail: { exerciseId: exercise.id, exerciseVersion: exercise.version } });
    return { invite, link: this.link(token) };
  }

  /** Whether `actor` may revoke, extend, reissue or delete the invite: its creator, or an admin. */
  canManage(invite: Pick<Invite, 'createdBy'>, actor: Actor): boolean {
    return actor.role === 'admin' || invite.createdBy === actor.id;
  }

  /** Refuses (403, audited) anyone but the invite's creator or an admin. */
  async assertCanManage(invite: Invite, actor: Actor, action: InviteAction): Promise<void> {
    if (this.canManage(invite, actor)) return;
    await this.deps.auth.audit({
      userId: actor.id,
      action: 'invite.refused',
      inviteId: invite.id,
      attemptId: invite.attemptId,
      detail: { action, createdBy: invite.createdBy },
    });
    const owner = (await this.deps.auth.userName(invite.createdBy)) ?? 'its creator';
    throw new OpslabError(
      ERROR_CODES.forbidden,
      403,
      `Only the interviewer who created this invite (${owner}) or an admin may ${ACTION_WORDS[action]} it.`,
    );
  }

  /** Loads an invite for a change by `actor`: 404 when unknown, 403 when not theirs to change. */
  private async owned(id: string, actor: Actor, action: InviteAction): Promise<Invite> {
    const invite = await this.deps.repo.get(id);
    if (!invite) throw errors.inviteNotFound();
    await this.assertCanManage(invite, actor, action);
    return invite;
  }

  /**
   * Deleting an attempt: an interview attempt only by its invite's creator or an admin (audited when refused);
   * practice attempts (no invite) by any staff member, as before.
   */
  async assertCanDeleteAttempt(attempt: Pick<Attempt, 'inviteId'>, actor: Actor): Promise<void> {
    if (!attempt.inviteId) return;
    const invite = await this.deps.repo.get(attempt.inviteId);
    if (!invite) {
      if (actor.role === 'admin') return;
      throw new OpslabError(ERROR_CODES.forbidden, 403, 'Only an admin may delete this attempt.');
    }
    await this.assertCanManage(invite, actor, 'delete');
  }

  /** The invite's attempt, if it has one. */
  private async attemptOf(invite: Invite): Promise<Attempt | undefined> {
    return invite.attemptId ? await this.deps.attempts.get(invite.attemptId) : undefined;
  }

  status(invite: Invite, attempt: InviteAttemptState | undefined): InviteStatus {
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

  /**
   * The invite's exercise version against the catalog: the current one, an older one still stored, or one whose
   * stored copy is gone (the invite cannot start). Invites made before versions were kept get the current one.
   */
  versionStatus(invite: Invite): InviteVersionStatus {
    const current = this.deps.catalog.get(invite.exerciseId)?.version;
    if (!invite.exerciseVersion || invite.exerciseVersion === current) return 'current';
    return this.deps.catalog.at(invite.exerciseId, invite.exerciseVersion) ? 'older' : 'missing';
  }

  /** What staff see of an invite: never its link or any token (`canManage`: whether `viewer` may change it). */
  async view(invite: Invite, viewer: Actor): Promise<InviteView> {
    return this.viewOf(invite, viewer, await this.deps.auth.userName(invite.createdBy), await this.attemptOf(invite));
  }

  /** The view from what was read beforehand: the creator's name and the attempt's state. */
  private viewOf(invite: Invite, viewer: Actor, creator: string | null | undefined, attempt: InviteAttemptState | undefined): InviteView {
    const exercise = this.deps.catalog.forAttempt(invite) ?? this.deps.catalog.get(invite.exerciseId);
    return {
      id: invite.id,
      exerciseId: invite.exerciseId,
      exerciseTitle: exercise?.title ?? invite.exerciseId,
      exerciseVersion: invite.exerciseVersion,
      exerciseVersionStatus: this.versionStatus(invite),
      candidateName: invite.candidateName,
      candidateEmail: invite.candidateEmail,
      timeLimitSeconds: invite.timeLimitSeconds,
      showFeedback: invite.showFeedback,
      files: { upload: invite.fileUpload ?? null, download: invite.fileDownload ?? null },
      note: invite.note,
      createdBy: { id: invite.createdBy, name: creator ?? 'unknown' },
      createdAt: iso(invite.createdAt)!,
      expiresAt: iso(invite.expiresAt)!,
      revokedAt: iso(invite.revokedAt),
      status: this.status(invite, attempt),
      attemptId: invite.attemptId,
      claimed: invite.claimedAt !== null,
      canManage: this.canManage(invite, viewer),
    };
  }

  /** The answer to a creation or a reissue: the view and, this once, the link. */
  async created(invite: Invite, link: string, viewer: Actor): Promise<CreatedInvite> {
    return { ...(await this.view(invite, viewer)), link };
  }

  /** The invites staff see, in two reads however many: the invites with their attempts' states, and the creators' names. */
  async list(viewer: Actor, filter: InviteListQuery = {}): Promise<InviteView[]> {
    const invites = await this.deps.repo.list({ exerciseId: filter.exerciseId });
    const names = await this.deps.auth.userNames(invites.map((i) => i.createdBy));
    const views = invites.map(({ attempt, ...invite }) => this.viewOf(invite, viewer, names.get(invite.createdBy), attempt ?? undefined));
    return filter.status ? views.filter((v) => v.status === filter.status) : views;
  }

  /** Withdraws an invite: its token stops working at once, and a running attempt ends (graded as it stands). */
  async revoke(id: string, actor: Actor): Promise<Invite> {
    const invite = await this.owned(id, actor, 'revoke');
    if (!(await this.deps.repo.revoke(id, Date.now()))) throw errors.inviteState('This invite is already revoked.');
    await this.deps.auth.audit({ userId: actor.id, action: 'invite.revoke', inviteId: id, attemptId: invite.attemptId });
    await this.starting.get(id)?.catch(() => undefined);
    const current = (await this.deps.repo.get(id))!;
    const attempt = await this.attemptOf(current);
    if (attempt?.state === 'running') {
      await this.deps.attempts.end(attempt.id, 'revoked').catch((err: Error) => {
        // Ended meanwhile (submitted or expired): the revocation still holds for the token.
        if (!/not running/.test(err.message)) throw err;
      });
    }
    return (await this.deps.repo.get(id))!;
  }

  /** Gives a running attempt more time, or raises the time limit of an invite not started yet. */
  async extend(id: string, minutes: number, actor: Actor): Promise<Invite> {
    const invite = await this.owned(id, actor, 'extend');
    const attempt = await this.attemptOf(invite);
    const status = this.status(invite, attempt);
    if (status === 'running' && invite.attemptId) {
      if (attempt?.state !== 'running') throw errors.inviteState('The attempt is still starting; try again in a moment.');
      await this.deps.attempts.extend(invite.attemptId, minutes * 60);
    } else if (status !== 'pending') {
      throw errors.inviteState(`This invite is ${status}: there is no clock to extend.`);
    }
    await this.deps.repo.addTime(id, minutes * 60);
    await this.deps.auth.audit({ userId: actor.id, action: 'attempt.extend', inviteId: id, attemptId: invite.attemptId, detail: { minutes } });
    return (await this.deps.repo.get(id))!;
  }

  /**
   * A new link for a candidate who lost theirs or their browser: the old link stops working at once, and so does
   * the credential of the browser that claimed it (its terminal closes). Whoever opens the new link and presses
   * Resume carries on in the same attempt; the attempt's events and recording say that it changed hands.
   */
  async reissue(id: string, actor: Actor): Promise<{ invite: Invite; link: string }> {
    const by = { id: actor.id, name: (await this.deps.auth.userName(actor.id)) ?? 'unknown' };
    const invite = await this.owned(id, actor, 'reissue');
    const status = this.status(invite, await this.attemptOf(invite));
    if (status !== 'pending' && status !== 'running' && status !== 'failed') {
      throw errors.inviteState(`This invite is ${status}: there is nothing left to open with a new link.`);
    }
    if (this.starting.has(id)) throw errors.inviteState('The attempt is starting right now; try again in a moment.');
    const token = newClaimToken();
    if (!(await this.deps.repo.reissue(id, hashToken(token)))) throw errors.inviteState('This invite is revoked.');
    const attempt = await this.attemptOf(invite);
    if (attempt && (attempt.state === 'running' || attempt.state === 'created')) {
      await this.deps.attempts.replaceToken(attempt.id, unusableTokenHash(), { kind: 'link-reissued', detail: { by } }, `link reissued by ${by.name}`);
    }
    await this.deps.auth.audit({
      userId: actor.id,
      action: 'invite.reissue',
      inviteId: id,
      attemptId: invite.attemptId,
      detail: { status, wasClaimed: invite.claimedAt !== null },
    });
    return { invite: (await this.deps.repo.get(id))!, link: this.link(token) };
  }

  /** The invite a candidate's token opens; refused when unknown (404), revoked or expired unstarted (410). */
  async fromToken(token: string): Promise<Invite> {
    const invite = await this.deps.repo.byTokenHash(hashToken(token));
    if (!invite) throw errors.inviteNotFound();
    if (invite.revokedAt !== null) throw errors.inviteRevoked();
    if (!invite.attemptId && invite.expiresAt <= Date.now()) throw errors.inviteExpired();
    return invite;
  }

  /** Whether a request holding an attempt's token may still use it: an invite's attempt dies with the invite. */
  async assertAttemptAccess(attempt: Attempt): Promise<void> {
    if (!attempt.inviteId) return;
    const invite = await this.deps.repo.get(attempt.inviteId);
    if (!invite || invite.revokedAt !== null) throw errors.inviteRevoked();
  }

  async candidateView(invite: Invite): Promise<CandidateInvite> {
    const exercise = this.deps.catalog.forAttempt(invite);
    const attempt = await this.attemptOf(invite);
    const status = this.status(invite, attempt);
    // Nothing to start: the version the invite pinned is gone. Said at once, not after the candidate reads the rules.
    if ((status === 'pending' || status === 'failed') && invite.exerciseVersion && !exercise) {
      throw errors.exerciseVersionMissing(invite.exerciseId, invite.exerciseVersion);
    }
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
      claimed: invite.claimedAt !== null,
    };
  }

  /**
   * Claims the invite: starts its attempt, or (after a reissue) takes over the running one, and answers with the
   * attempt's own token for the browser's cookie. A claimed link claims nothing more (409): the browser that
   * claimed it holds the credential. A start that failed (the sandbox could not be provisioned) may be tried again.
   * Concurrent starts of one invite share one.
   */
  async start(token: string): Promise<Claim> {
    const invite = await this.fromToken(token);
    const pending = this.starting.get(invite.id);
    if (pending) return pending;
    const promise = this.doStart(invite).finally(() => this.starting.delete(invite.id));
    this.starting.set(invite.id, promise);
    return promise;
  }

  private async doStart(invite: Invite): Promise<Claim> {
    const existing = await this.attemptOf(invite);
    if (existing && existing.state !== 'failed') {
      if (invite.claimedAt !== null || existing.state !== 'running') throw claimedError();
      // A reissued link takes over the running attempt: a new token, the old one already locked out.
      if (!(await this.deps.repo.claim(invite.id, invite.tokenHash, Date.now()))) throw claimedError();
      const token = newAttemptToken();
      const attempt = await this.deps.attempts.replaceToken(existing.id, hashToken(token), { kind: 'link-claimed', detail: null }, 'link claimed');
      return { attempt, created: false, token };
    }
    // The version the invite was made with, or a clear refusal when its stored copy is gone: never another one.
    if (invite.exerciseVersion && !this.deps.catalog.at(invite.exerciseId, invite.exerciseVersion)) {
      throw errors.exerciseVersionMissing(invite.exerciseId, invite.exerciseVersion);
    }
    const token = newAttemptToken();
    const { attempt } = await this.deps.attempts.start(invite.exerciseId, {
      exerciseVersion: invite.exerciseVersion,
      timeLimitSeconds: invite.timeLimitSeconds,
      mode: 'interview',
      inviteId: invite.id,
      feedback: invite.showFeedback,
      token,
      onCreated: async (attemptId) => {
        await this.deps.repo.setAttempt(invite.id, attemptId);
        // A retry after a failed start uses the same link again, already claimed by the browser retrying.
        await this.deps.repo.claim(invite.id, invite.tokenHash, Date.now());
      },
    });
    await this.deps.events?.publish({ type: 'invite.started', attempt });
    return { attempt, created: true, token };
  }
}

const claimedError = () =>
  errors.inviteState(
    'This exercise was already started from this link, in another browser or window. Open it in the browser you ' +
      'started in; if you no longer can, ask the person who invited you for a new link.',
  );
