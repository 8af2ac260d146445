import fs from 'node:fs';
import { existingRecordings } from '../terminal/terminal-files.js';
import { mergeTimelines } from './merge-timelines.js';
import type { AttemptService } from '../attempts/attempt-service.js';
import { errors } from '../errors.js';
import type { Attempt, AttemptsRepo } from '../store/attempts-repo.js';
import type { InviteService } from '../invites/invite-service.js';
import type { AttemptQuery } from '../store/reviews-repo.js';
import type { EventPublisher } from '../webhooks/events.js';
import { AdvisoryChecks } from './advisory.js';
import { AttemptsCsv, type AttemptsCsvDeps } from './attempts-csv.js';
import { CommandTimelines } from './command-timelines.js';
import { gradingHistory } from './grading-history.js';
import { renderExportHtml } from './export-html.js';
import { inputTimesOfFiles, signalReport } from '../workspace-files/signals.js';
import type { SignalReport } from '../../../contract/signals.js';
import { toJUnitXml } from '../grading/report.js';
import {
  COMMANDS_PAGE,
  scorecardFor,
  tallyGrade,
  weightedScore,
  type AttemptPage,
  type CommandTimeline,
  type ExportData,
  type Rating,
  type Recommendation,
  type Review,
  type ReviewBundle,
  type SnapshotDiffView,
} from '../../../contract/index.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What the CSV export needs (the stores, the catalog, the public address), the attempts and the invites. */
export interface ReviewServiceDeps extends AttemptsCsvDeps {
  attempts: AttemptService;
  attemptsRepo: AttemptsRepo;
  invites: InviteService;
  /** Where a saved review goes (the webhooks subscribe). */
  events?: EventPublisher;
}

/** What interviewers see of attempts: the dashboard, the review bundle, reviews and the recording's data. */
export class ReviewService {
  private readonly timelines = new CommandTimelines();
  /** Reviewers' decisions on advisory checks. */
  readonly advisory: AdvisoryChecks;
  /** The dashboard's filter as a CSV file. */
  readonly csv: AttemptsCsv;

  constructor(private readonly deps: ReviewServiceDeps) {
    this.advisory = new AdvisoryChecks(deps);
    this.csv = new AttemptsCsv(deps);
  }

  private async attempt(id: string): Promise<Attempt> {
    const attempt = await this.deps.attemptsRepo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    return attempt;
  }

  /**
   * A page of the dashboard, in a fixed number of reads whatever the page's length: the page with its total, the
   * interviewers' names, and the graded attempts' current final gradings and confirmations (for the points pending).
   */
  async list(q: AttemptQuery): Promise<AttemptPage> {
    const { rows, total } = await this.deps.reviews.listAttempts(q);
    const names = await this.deps.auth.userNames(rows.flatMap((r) => (r.interviewerId ? [r.interviewerId] : [])));
    const graded = rows.flatMap((r) => (r.score === null ? [] : [r.id]));
    const finals = await this.deps.grading.finalVerdictsFor(graded);
    const confirmations = await this.deps.grading.confirmations.verdictsFor(graded);
    // Points of the current grading's advisory checks that no reviewer decided yet.
    const pendingPoints = (attemptId: string) => {
      const final = finals.get(attemptId);
      return final ? tallyGrade(final.checks, confirmations.get(attemptId)).pendingPoints : 0;
    };
    return {
      total,
      page: q.page,
      pageSize: q.pageSize,
      attempts: rows.map((r) => ({
        id: r.id,
        exerciseId: r.exerciseId,
        exerciseTitle: this.deps.catalog.get(r.exerciseId)?.title ?? r.exerciseId,
        mode: r.mode,
        state: r.state,
        endReason: r.endReason,
        candidateName: r.candidateName,
        interviewer: r.interviewerId ? { id: r.interviewerId, name: names.get(r.interviewerId) ?? 'unknown' } : null,
        createdAt: iso(r.createdAt)!,
        startedAt: iso(r.startedAt),
        deadline: iso(r.deadline),
        endedAt: iso(r.endedAt),
        score: r.score,
        maxScore: r.maxScore,
        pendingPoints: r.score === null ? null : pendingPoints(r.id),
        reviews: r.reviews,
      })),
    };
  }

  async bundle(attemptId: string, viewerId: string): Promise<ReviewBundle> {
    const { attempts, grading, catalog, auth } = this.deps;
    const attempt = await this.attempt(attemptId);
    const invite = attempt.inviteId ? await this.deps.invites.get(attempt.inviteId) : undefined;
    const current = catalog.get(attempt.exerciseId);
    // Title and skills as the candidate had them (an exercise since removed from the catalog still has them).
    const exercise = catalog.forAttempt(attempt) ?? current;
    const final = await grading.final(attemptId);
    const firstPasses = await grading.firstPasses(attemptId);
    const confirmed = await this.advisory.verdicts(attemptId);
    const tally = final ? tallyGrade(final.results, confirmed) : null;
    const decisions = final ? await this.advisory.views(attemptId, final) : {};
    const skills = exercise?.skills ?? [];
    const finals = await grading.finals(attemptId);
    const requesters = await auth.userNames(finals.flatMap((r) => (r.requestedBy ? [r.requestedBy] : [])));
    return {
      attempt: attempts.view(attempt),
      timeLimitSeconds: attempt.timeLimitSeconds,
      hintsRevealed: attempt.hintsRevealed,
      candidate: invite ? { name: invite.candidateName, email: invite.candidateEmail } : null,
      invite: invite
        ? {
            id: invite.id,
            showFeedback: invite.showFeedback,
            note: invite.note,
            createdBy: { id: invite.createdBy, name: (await auth.userName(invite.createdBy)) ?? 'unknown' },
            createdAt: iso(invite.createdAt)!,
            expiresAt: iso(invite.expiresAt)!,
            revokedAt: iso(invite.revokedAt),
          }
        : null,
      exercise: {
        id: attempt.exerciseId,
        title: exercise?.title ?? attempt.exerciseId,
        summary: exercise?.summary ?? '',
        difficulty: exercise?.difficulty ?? '',
        skills: [...skills],
        version: current?.version ?? null,
        takenVersion: attempt.exerciseVersion,
      },
      grading: final && tally
        ? {
            score: tally.score,
            maxScore: tally.maxScore,
            pendingPoints: tally.pendingPoints,
            startedAt: iso(final.startedAt)!,
            finishedAt: iso(final.finishedAt)!,
            error: final.error,
            checks: final.results.map((r) => ({
              id: r.id,
              title: r.title,
              points: r.points,
              visible: r.visible,
              verdict: r.verdict,
              message: r.message,
              details: r.details,
              durationMs: r.durationMs,
              firstPassedAt: iso(firstPasses[r.id] ?? null),
              advisory: r.advisory,
              confirmation: r.advisory ? (decisions[r.id] ?? null) : null,
            })),
          }
        : null,
      gradings: gradingHistory(finals, confirmed, (id) => requesters.get(id)),
      regradeRefusal: attempts.regrader.refusal(attempt),
      checkRuns: (await grading
        .list(attemptId))
        .filter((r) => r.kind === 'progress')
        .map((r) => ({ finishedAt: iso(r.finishedAt)!, score: r.score, maxScore: r.maxScore })),
      events: (await this.deps.attemptsRepo.events(attemptId)).map((e) => ({ at: iso(e.at)!, kind: e.kind, detail: e.detail })),
      scorecard: scorecardFor(skills),
      reviews: await this.reviews(attemptId, viewerId),
    };
  }

  async reviews(attemptId: string, viewerId: string): Promise<Review[]> {
    const reviews = await this.deps.reviews.list(attemptId);
    const names = await this.deps.auth.userNames(reviews.map((r) => r.reviewerId));
    return reviews.map((r) => ({
      reviewer: { id: r.reviewerId, name: names.get(r.reviewerId) ?? 'unknown' },
      ratings: r.ratings,
      recommendation: r.recommendation,
      summary: r.summary,
      weightedScore: weightedScore(r.ratings),
      updatedAt: iso(r.updatedAt)!,
      mine: r.reviewerId === viewerId,
    }));
  }

  async saveReview(
    attemptId: string,
    reviewerId: string,
    body: { ratings: Record<string, Rating>; recommendation: Recommendation | null; summary: string },
  ): Promise<Review> {
    const attempt = await this.attempt(attemptId);
    await this.deps.reviews.upsert({ attemptId, reviewerId, ...body });
    await this.deps.auth.audit({ userId: reviewerId, action: 'review.save', attemptId, detail: { recommendation: body.recommendation } });
    await this.deps.events?.publish({ type: 'review.saved', attemptId, attempt, reviewerId, review: body });
    return (await this.reviews(attemptId, reviewerId)).find((r) => r.mine)!;
  }

  async diff(attemptId: string): Promise<SnapshotDiffView | null> {
    await this.attempt(attemptId);
    return this.deps.attempts.snapshotDiff(attemptId);
  }

  /**
   * The commands run in the attempt, from its recording (parsed off the event loop, kept while unchanged), a page
   * of them at a time: `total` says how many there are.
   */
  async commands(attemptId: string, page: { offset?: number; limit?: number } = {}): Promise<CommandTimeline> {
    const all = await this.timeline(attemptId);
    const offset = page.offset ?? 0;
    const limit = Math.min(page.limit ?? COMMANDS_PAGE.default, COMMANDS_PAGE.max);
    return { ...all, commands: all.commands.slice(offset, offset + limit), total: all.commands.length, offset };
  }

  /**
   * The whole command timeline of the attempt's recordings (flushed first while the attempt runs): every terminal's
   * commands in the order they started, those of a further terminal tagged with its number.
   */
  private async timeline(attemptId: string): Promise<CommandTimeline> {
    const attempt = await this.attempt(attemptId);
    this.deps.attempts.flushRecording(attemptId);
    const parts: { terminal: number; timeline: CommandTimeline }[] = [];
    for (const { terminal, file } of existingRecordings(this.deps.attempts.recordingFile(attempt))) {
      const timeline = await this.timelines.get(file);
      if (timeline) parts.push({ terminal, timeline });
    }
    return mergeTimelines(parts);
  }

  /** Everything of the attempt for the export, as the given interviewer sees it. */
  async exportData(attemptId: string, viewerId: string): Promise<ExportData> {
    const cast = await this.castText(attemptId);
    return {
      bundle: await this.bundle(attemptId, viewerId),
      commands: await this.timeline(attemptId),
      diff: await this.diff(attemptId),
      cast,
      signals: await this.signals(attemptId).catch(() => null),
      exportedAt: new Date().toISOString(),
    };
  }

  async exportHtml(attemptId: string, viewerId: string): Promise<string> {
    return renderExportHtml(await this.exportData(attemptId, viewerId));
  }

  /** The current final grading as JUnit XML, advisory checks as their reviewers decided; null before one exists. */
  async exportJUnit(attemptId: string): Promise<string | null> {
    const attempt = await this.attempt(attemptId);
    const run = await this.deps.grading.final(attemptId);
    if (!run) return null;
    const grading = {
      startedAt: iso(run.startedAt)!,
      finishedAt: iso(run.finishedAt)!,
      durationMs: run.finishedAt - run.startedAt,
      score: run.score,
      maxScore: run.maxScore,
      results: run.results,
      cleanroom: run.cleanroom,
      phases: { graderStartMs: 0, copyMs: 0, cleanroomMs: 0, checksMs: 0 },
    };
    return toJUnitXml(grading, { suiteName: `${attempt.exerciseId} (${attempt.id})`, confirmations: await this.advisory.verdicts(attemptId) });
  }

  /** Pastes, absences and idle stretches (idle computed here from every terminal recording's input times and the events). */
  async signals(attemptId: string): Promise<SignalReport> {
    const attempt = await this.attempt(attemptId);
    this.deps.attempts.flushRecording(attemptId);
    const files = existingRecordings(this.deps.attempts.recordingFile(attempt)).map((r) => r.file);
    const times = await inputTimesOfFiles(files);
    return signalReport(await this.deps.attemptsRepo.events(attemptId), times, {
      startedAt: attempt.startedAt,
      endedAt: attempt.endedAt,
      now: Date.now(),
    });
  }

  /** The recording as text (flushed first while the attempt runs); null when there is none. */
  async castText(attemptId: string): Promise<string | null> {
    const attempt = await this.attempt(attemptId);
    this.deps.attempts.flushRecording(attemptId);
    try {
      return fs.readFileSync(this.deps.attempts.recordingFile(attempt), 'utf8');
    } catch {
      return null;
    }
  }
}
