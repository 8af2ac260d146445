// The invite form's checks, field by field, before anything is sent: the same limits the server's schema applies
// (contract/invites.ts), each broken one with a sentence that says how to fix it. Pure: no DOM.

import { INVITE_EMAIL_PATTERN, INVITE_LIMITS, type CreateInviteBody } from '../../../contract/invites.js';
import { formatMinutes } from '../ui/format.js';

/** What the form holds, as typed (trimmed by the check). */
export interface InviteFormValues {
  /** The chosen exercise; undefined when none is chosen. */
  exercise: { id: string; timeLimitMinutes: number } | undefined;
  candidateName: string;
  candidateEmail: string;
  timeLimitMinutes: string;
  expiresInDays: string;
  note: string;
  showFeedback: boolean;
  upload: boolean;
  download: boolean;
}

export type InviteField = 'exercise' | 'candidateName' | 'candidateEmail' | 'timeLimit' | 'expires' | 'note';

/** The fields in the order the form shows them (the first wrong one gets the focus). */
export const INVITE_FIELDS: readonly InviteField[] = ['exercise', 'candidateName', 'candidateEmail', 'timeLimit', 'expires', 'note'];

const EMAIL = new RegExp(INVITE_EMAIL_PATTERN);

/** The body to send when every field is right; otherwise what is wrong with each wrong field. */
export function checkInvite(v: InviteFormValues): { body: CreateInviteBody | null; problems: Partial<Record<InviteField, string>> } {
  const problems: Partial<Record<InviteField, string>> = {};
  if (!v.exercise) problems.exercise = 'Choose the exercise the candidate will work on.';

  const name = v.candidateName.trim();
  if (name === '') problems.candidateName = 'Enter the candidate’s name.';
  else if (name.length > INVITE_LIMITS.nameMax) problems.candidateName = `The name can be at most ${INVITE_LIMITS.nameMax} characters.`;

  const email = v.candidateEmail.trim();
  if (email === '') problems.candidateEmail = 'Enter the candidate’s email address.';
  else if (!EMAIL.test(email) || email.length > INVITE_LIMITS.emailMax) problems.candidateEmail = 'Enter an email address like name@example.com.';

  const limits = INVITE_LIMITS.timeLimitMinutes;
  const minutes = wholeNumber(v.timeLimitMinutes, limits);
  if (minutes === null) {
    problems.timeLimit = `Enter the time limit in whole minutes, from ${limits.min} to ${limits.max} (${formatMinutes(limits.max)}).`;
  }

  const days = INVITE_LIMITS.expiresInDays;
  const expiresInDays = wholeNumber(v.expiresInDays, days);
  if (expiresInDays === null) problems.expires = `Enter a whole number of days from ${days.min} to ${days.max}.`;

  const note = v.note.trim();
  if (note.length > INVITE_LIMITS.noteMax) problems.note = `The note can be at most ${INVITE_LIMITS.noteMax} characters.`;

  if (Object.keys(problems).length > 0 || !v.exercise || minutes === null || expiresInDays === null) return { body: null, problems };
  const body: CreateInviteBody = {
    exerciseId: v.exercise.id,
    candidateName: name,
    candidateEmail: email,
    showFeedback: v.showFeedback,
    files: { upload: v.upload, download: v.download },
    expiresInDays,
  };
  // Only an override is sent; otherwise the exercise's limit applies.
  if (minutes !== v.exercise.timeLimitMinutes) body.timeLimitMinutes = minutes;
  if (note !== '') body.note = note;
  return { body, problems };
}

/** A whole number within the bounds, from the text typed; null otherwise. */
function wholeNumber(text: string, bounds: { min: number; max: number }): number | null {
  const t = text.trim();
  const n = Number(t);
  return t === '' || !Number.isInteger(n) || n < bounds.min || n > bounds.max ? null : n;
}
