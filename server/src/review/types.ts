// The shapes of the review API (docs/api.md, "Review"): one place for the routes, the export and the tests.
import type { AttemptView } from '../attempts/attempt-service.js';

export const RECOMMENDATIONS = ['strong-no', 'no', 'yes', 'strong-yes'] as const;
export type Recommendation = (typeof RECOMMENDATIONS)[number];

export interface PersonRef {
  id: string;
  name: string;
}

export interface ReviewCheck {
  id: string;
  title: string;
  points: number;
  visible: boolean;
  verdict: 'pass' | 'fail' | 'error';
  message: string;
  details: string;
  durationMs: number;
  firstPassedAt: string | null;
}

export interface ScorecardDimension {
  id: string;
  title: string;
  weight: number;
  preselected: boolean;
}

export interface Rating {
  rating: 1 | 2 | 3 | 4 | null;
  notes: string;
}

export interface Review {
  reviewer: PersonRef;
  ratings: Record<string, Rating>;
  recommendation: Recommendation | null;
  summary: string;
  /** The weight-averaged rating over the rated dimensions (1..4), or null when nothing is rated. */
  weightedScore: number | null;
  updatedAt: string;
  mine: boolean;
}

export interface ReviewBundle {
  attempt: AttemptView;
  timeLimitSeconds: number;
  hintsRevealed: number;
  candidate: { name: string; email: string } | null;
  invite: {
    id: string;
    showFeedback: boolean;
    note: string | null;
    createdBy: PersonRef;
    createdAt: string;
    expiresAt: string;
    revokedAt: string | null;
  } | null;
  exercise: { id: string; title: string; summary: string; difficulty: string; skills: string[] };
  grading: {
    score: number;
    maxScore: number;
    startedAt: string;
    finishedAt: string;
    error: string | null;
    checks: ReviewCheck[];
  } | null;
  checkRuns: { finishedAt: string; score: number; maxScore: number }[];
  events: { at: string; kind: string; detail: unknown }[];
  scorecard: ScorecardDimension[];
  reviews: Review[];
}

/** One command the candidate ran, taken from the recording. */
export interface Command {
  command: string;
  /** Seconds from the start of the recording: the replay's clock. */
  startedAt: number;
  durationMs: number | null;
  exitCode: number | null;
  /** `shell`: from the shell's OSC 133 marks; `input`: reconstructed from keystrokes when the marks were missing. */
  source: 'shell' | 'input';
}

export interface CommandTimeline {
  commands: Command[];
  source: 'shell' | 'input' | 'mixed' | 'none';
}

export interface SnapshotDiffView {
  changed: { path: string; change: string }[];
  diff: string;
}

/** Everything the self-contained HTML report holds. */
export interface ExportData {
  bundle: ReviewBundle;
  commands: CommandTimeline;
  diff: SnapshotDiffView | null;
  /** The asciicast v2 recording, as text. */
  cast: string | null;
  exportedAt: string;
}
