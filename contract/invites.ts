// Invites: the interviewer's side (docs/api.md, "Invites (interviewers)") and the candidate's ("Candidate access").

import type { Difficulty } from './attempts.js';
import type { InviteTransferChoice } from './files.js';
import { ID_PATTERNS, idParams, NAME_PATTERN, stringEnum, Type, type PersonRef, type Static } from './schema.js';

export const INVITE_STATUSES = ['pending', 'running', 'finished', 'expired', 'revoked', 'failed'] as const;
export type InviteStatus = (typeof INVITE_STATUSES)[number];

/**
 * An invite's exercise version against the catalog: `current`; `older` (the exercise changed since, the candidate
 * still gets this version from its stored copy); `missing` (the stored copy is gone: the invite cannot start).
 */
export const INVITE_VERSION_STATUSES = ['current', 'older', 'missing'] as const;
export type InviteVersionStatus = (typeof INVITE_VERSION_STATUSES)[number];

/** How staff pages and exports show an exercise version: its first 12 hex digits. */
export const shortVersion = (version: string): string => version.slice(0, 12);

/** `Invite` of docs/api.md. */
export interface InviteView {
  id: string;
  exerciseId: string;
  exerciseTitle: string;
  /** The exercise version the invite was made with and its candidate gets (null: made before versions were kept). */
  exerciseVersion: string | null;
  exerciseVersionStatus: InviteVersionStatus;
  candidateName: string;
  candidateEmail: string;
  timeLimitSeconds: number;
  showFeedback: boolean;
  /** Whether the candidate may upload into and download from the workspace (null: the exercise's default). */
  files: InviteTransferChoice;
  note: string | null;
  createdBy: PersonRef;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  status: InviteStatus;
  attemptId: string | null;
  /** Whether the current link was used to start (or take over) the attempt: it opens nothing more. */
  claimed: boolean;
  /** Whether the signed-in staff member may revoke, extend, reissue or delete it (its creator, or an admin). */
  canManage: boolean;
}

/**
 * The answer to creating an invite or reissuing its link: the only time the link is shown. It is not kept: staff
 * answers never hold it again, and once the candidate has started, the link alone opens nothing.
 */
export interface CreatedInvite extends InviteView {
  /** `<publicUrl>/invite#<token>`: the claim token is in the fragment. */
  link: string;
}

/** Minutes an extension may add. */
export const EXTEND_MINUTES = { min: 1, max: 240 } as const;

/** What an invite's fields may hold: the schema below checks them, and the invite form says them before sending. */
export const INVITE_LIMITS = {
  nameMax: 200,
  emailMax: 254,
  noteMax: 2000,
  timeLimitMinutes: { min: 1, max: 8 * 60 },
  expiresInDays: { min: 1, max: 90 },
  /** Used when an invite is created without `expiresInDays`. */
  defaultExpiresInDays: 7,
} as const;

/** An email address as invites accept it: something@something.tld, no spaces. */
export const INVITE_EMAIL_PATTERN = '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$';

/** `POST /api/manage/invites`. */
export const CreateInviteBody = Type.Object(
  {
    exerciseId: Type.String({ pattern: ID_PATTERNS.exercise }),
    candidateName: Type.String({ minLength: 1, maxLength: INVITE_LIMITS.nameMax, pattern: NAME_PATTERN }),
    candidateEmail: Type.String({ maxLength: INVITE_LIMITS.emailMax, pattern: INVITE_EMAIL_PATTERN }),
    /** Leave out to use the exercise's own time limit. */
    timeLimitMinutes: Type.Optional(
      Type.Integer({ minimum: INVITE_LIMITS.timeLimitMinutes.min, maximum: INVITE_LIMITS.timeLimitMinutes.max }),
    ),
    showFeedback: Type.Boolean(),
    /** Uploads and downloads in the workspace; each left out: the exercise's default (off in interviews). */
    files: Type.Optional(
      Type.Object(
        { upload: Type.Optional(Type.Boolean()), download: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ),
    note: Type.Optional(Type.String({ maxLength: INVITE_LIMITS.noteMax })),
    /** Leave out for the server's default (INVITE_LIMITS.defaultExpiresInDays). */
    expiresInDays: Type.Optional(
      Type.Integer({ minimum: INVITE_LIMITS.expiresInDays.min, maximum: INVITE_LIMITS.expiresInDays.max }),
    ),
  },
  { additionalProperties: false },
);
export type CreateInviteBody = Static<typeof CreateInviteBody>;

/** `GET /api/manage/invites` query. */
export const InviteListQuery = Type.Object(
  {
    status: Type.Optional(stringEnum(INVITE_STATUSES)),
    exerciseId: Type.Optional(Type.String({ pattern: ID_PATTERNS.exercise })),
  },
  { additionalProperties: false },
);
export type InviteListQuery = Static<typeof InviteListQuery>;

export const InviteParams = idParams(ID_PATTERNS.invite);

/** `POST /api/manage/invites/:id/extend`. */
export const ExtendInviteBody = Type.Object(
  { minutes: Type.Integer({ minimum: EXTEND_MINUTES.min, maximum: EXTEND_MINUTES.max }) },
  { additionalProperties: false },
);
export type ExtendInviteBody = Static<typeof ExtendInviteBody>;

/** What the candidate's page shows of an invite's progress. */
export type CandidateInviteState = 'pending' | 'running' | 'finished';

/** `GET /api/invite`: what a candidate is told before they start. */
export interface CandidateInvite {
  candidateName: string;
  /** null when the operator's OPSLAB_INVITE_LANDING is `minimal`: the workspace names the exercise once started. */
  exercise: { id: string; title: string; summary: string; difficulty: Difficulty; skills: string[] } | null;
  timeLimitSeconds: number;
  showFeedback: boolean;
  expiresAt: string | null;
  /** What the attempt records, in plain words. */
  recorded: string[];
  rules: string[];
  state: CandidateInviteState;
  attemptId: string | null;
  /**
   * The link was used to start: only the browser that started holds the attempt's credential (a cookie); the link
   * alone resumes nothing. False again after the hiring team reissued the link (Resume then takes the attempt over).
   */
  claimed: boolean;
}
