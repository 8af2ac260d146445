// The invite form's own checks (web/src/manage/invite-check.ts) against the schema the server validates with
// (contract/invites.ts): both read one set of limits, so what the form sends the server takes, and what the form
// refuses at a limit the server refuses too.
import AjvModule from 'ajv';
import { describe, expect, it } from 'vitest';
import { CreateInviteBody, INVITE_LIMITS } from '../../contract/invites.js';
import { checkInvite, type InviteFormValues } from '../../web/src/manage/invite-check.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const valid = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: true }).compile(CreateInviteBody);

const good: InviteFormValues = {
  exercise: { id: 'ci-triage', timeLimitMinutes: 45 },
  candidateName: ' Ada Lovelace ',
  candidateEmail: 'ada@example.com',
  timeLimitMinutes: '45',
  expiresInDays: String(INVITE_LIMITS.defaultExpiresInDays),
  note: '',
  showFeedback: false,
  upload: true,
  download: false,
};

describe('invite form checks', () => {
  it('builds a body the server schema accepts, sending the time limit only when it overrides the exercise', () => {
    const { body, problems } = checkInvite(good);
    expect(problems).toEqual({});
    expect(body).toEqual({
      exerciseId: 'ci-triage',
      candidateName: 'Ada Lovelace',
      candidateEmail: 'ada@example.com',
      showFeedback: false,
      files: { upload: true, download: false },
      expiresInDays: INVITE_LIMITS.defaultExpiresInDays,
    });
    expect(valid(body)).toBe(true);
    const longer = checkInvite({ ...good, timeLimitMinutes: '90', note: ' call first ' }).body;
    expect(longer).toMatchObject({ timeLimitMinutes: 90, note: 'call first' });
    expect(valid(longer)).toBe(true);
  });

  it('accepts each limit itself, and the server schema does too', () => {
    const atLimits = checkInvite({
      ...good,
      candidateName: 'A'.repeat(INVITE_LIMITS.nameMax),
      candidateEmail: `${'a'.repeat(INVITE_LIMITS.emailMax - '@example.com'.length)}@example.com`,
      timeLimitMinutes: String(INVITE_LIMITS.timeLimitMinutes.max),
      expiresInDays: String(INVITE_LIMITS.expiresInDays.max),
      note: 'n'.repeat(INVITE_LIMITS.noteMax),
    });
    expect(atLimits.problems).toEqual({});
    expect(valid(atLimits.body)).toBe(true);
  });

  it('refuses one past each limit, as the server schema does', () => {
    const past: [Partial<InviteFormValues>, string, Record<string, unknown>][] = [
      [{ candidateName: 'A'.repeat(INVITE_LIMITS.nameMax + 1) }, 'candidateName', { candidateName: 'A'.repeat(INVITE_LIMITS.nameMax + 1) }],
      [
        { candidateEmail: `${'a'.repeat(INVITE_LIMITS.emailMax)}@example.com` },
        'candidateEmail',
        { candidateEmail: `${'a'.repeat(INVITE_LIMITS.emailMax)}@example.com` },
      ],
      [{ timeLimitMinutes: String(INVITE_LIMITS.timeLimitMinutes.max + 1) }, 'timeLimit', { timeLimitMinutes: INVITE_LIMITS.timeLimitMinutes.max + 1 }],
      [{ timeLimitMinutes: String(INVITE_LIMITS.timeLimitMinutes.min - 1) }, 'timeLimit', { timeLimitMinutes: INVITE_LIMITS.timeLimitMinutes.min - 1 }],
      [{ expiresInDays: String(INVITE_LIMITS.expiresInDays.max + 1) }, 'expires', { expiresInDays: INVITE_LIMITS.expiresInDays.max + 1 }],
      [{ note: 'n'.repeat(INVITE_LIMITS.noteMax + 1) }, 'note', { note: 'n'.repeat(INVITE_LIMITS.noteMax + 1) }],
    ];
    const base = checkInvite(good).body!;
    for (const [change, field, bodyChange] of past) {
      const { body, problems } = checkInvite({ ...good, ...change });
      expect(body, field).toBeNull();
      expect(Object.keys(problems), field).toEqual([field]);
      expect(valid({ ...base, ...bodyChange }), field).toBe(false);
    }
  });

  it('says what to fix in every wrong field at once', () => {
    const { body, problems } = checkInvite({
      ...good,
      exercise: undefined,
      candidateName: '   ',
      candidateEmail: 'ada at example',
      timeLimitMinutes: '1.5',
      expiresInDays: '',
    });
    expect(body).toBeNull();
    expect(problems).toEqual({
      exercise: 'Choose the exercise the candidate will work on.',
      candidateName: 'Enter the candidate’s name.',
      candidateEmail: 'Enter an email address like name@example.com.',
      timeLimit: 'Enter the time limit in whole minutes, from 1 to 480 (8 h).',
      expires: 'Enter a whole number of days from 1 to 90.',
    });
  });
});
