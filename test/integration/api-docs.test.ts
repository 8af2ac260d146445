// The curl examples of docs/api.md's "Automation" section, run as they are written with the real curl (and jq)
// against a real server and a real API token, so that the documentation cannot drift from the API. Only the
// environment is the test's: OPSLAB_URL, OPSLAB_TOKEN and ATTEMPT_ID; the exercise of the example is swapped for
// this test's small fixture exercise.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { attemptCookieToken, request } from '../helpers/api.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const run = promisify(execFile);

/** The ```sh blocks of the "## Automation" section of docs/api.md, in order. */
function automationExamples(): string[] {
  const doc = fs.readFileSync(path.join(repoRoot(), 'docs/api.md'), 'utf8');
  const start = doc.indexOf('\n## Automation');
  expect(start, 'docs/api.md has an Automation section').toBeGreaterThan(0);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```sh\n([^]*?)```/g)].map((m) => m[1]!);
}

describe('docs/api.md: the Automation examples, run with curl against a real server', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises') } });
  let admin: StaffSession;
  let token = '';
  let cwd = '';
  const examples = automationExamples();
  /** Runs one example in bash (errexit, pipefail) with the documented environment; its standard output. */
  const shell = async (script: string, env: Record<string, string> = {}) => {
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OPSLAB_URL: server.url, OPSLAB_TOKEN: token, ...env },
      timeout: 60_000,
    });
    return stdout;
  };
  const find = (needle: string) => {
    const found = examples.filter((e) => e.includes(needle));
    expect(found, `exactly one example uses ${needle}`).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    admin = await staffSession(server, 'admin', 'Ada Admin');
    const created = await request(server.url, 'POST', '/api/manage/tokens', admin.headers, {
      name: 'docs-examples',
      scopes: ['invites:write', 'attempts:read', 'reviews:read'],
    });
    expect(created.status, created.text).toBe(201);
    token = created.body.secret;
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-docs-'));
  });
  afterAll(async () => {
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('creates an invite and reads its link, lists the attempt, fetches its grade, review, JUnit and the CSV', async () => {
    expect(examples.length).toBe(6);
    for (const e of examples) expect(e).toMatch(/^curl /);

    // Create an invite; the output is its link, which the candidate then opens.
    const create = find('-X POST "$OPSLAB_URL/api/manage/invites"');
    expect(create).toContain('"exerciseId": "ci-triage"');
    const link = (await shell(create.replace('"exerciseId": "ci-triage"', '"exerciseId": "graded-demo"'))).trim();
    expect(link).toMatch(new RegExp(`^${server.url}/invite#[A-Za-z0-9_-]{43}$`));
    const audit = server.services.sqlite!.prepare("SELECT user_id AS userId, actor FROM audit_log WHERE action = 'invite.create'").all();
    expect(audit).toEqual([{ userId: admin.user.id, actor: 'token:docs-examples' }]);

    // The candidate starts and submits; an interviewer reviews.
    const started = await request(server.url, 'POST', '/api/invite/start', { authorization: `Bearer ${new URL(link).hash.slice(1)}` });
    expect(started.status, started.text).toBe(201);
    const attemptId = started.body.attempt.id as string;
    const own = attemptCookieToken(started.headers, attemptId);
    const submitted = await request(server.url, 'POST', `/api/attempts/${attemptId}/submit`, { authorization: `Bearer ${own}` });
    expect(submitted.body.attempt, submitted.text).toMatchObject({ state: 'archived' });
    const review = await request(server.url, 'PUT', `/api/manage/attempts/${attemptId}/review`, admin.headers, {
      ratings: {},
      recommendation: 'yes',
      summary: 'Solid triage.',
    });
    expect(review.status, review.text).toBe(200);
    const env = { ATTEMPT_ID: attemptId };

    // The list, as tab-separated lines.
    const list = await shell(find('/api/manage/attempts?state=archived'), env);
    expect(list.trim().split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^${attemptId}\tCasey Candidate\t\\d+\t10$`)));

    // The grade and its checks.
    const grade = JSON.parse(await shell(find('/grade"'), env));
    expect(grade).toEqual({
      score: expect.any(Number),
      maxScore: 10,
      checks: [
        { id: 'a', verdict: expect.stringMatching(/^(pass|fail)$/) },
        { id: 'b', verdict: expect.stringMatching(/^(pass|fail)$/) },
      ],
    });

    // The review.
    const reviews = JSON.parse(await shell(find('/api/manage/attempts/$ATTEMPT_ID" '), env));
    expect(reviews).toEqual([{ reviewer: 'Ada Admin', recommendation: 'yes', weightedScore: null }]);

    // JUnit, to a file.
    await shell(find('export.junit.xml'), env);
    const junit = fs.readFileSync(path.join(cwd, `opslab-${attemptId}.junit.xml`), 'utf8');
    expect(junit).toMatch(/^<\?xml/);
    expect(junit).toContain('<testcase classname="graded-demo');
    expect(junit).toContain('<property name="maxScore" value="10"/>');

    // The CSV export, to a file.
    await shell(find('export.csv'), env);
    const csv = fs.readFileSync(path.join(cwd, 'attempts.csv'), 'utf8');
    expect(csv.split('\r\n')[0]).toContain('attempt id');
    expect(csv).toContain(attemptId);
    const exported = server.services.sqlite!.prepare("SELECT actor FROM audit_log WHERE action = 'attempts.export'").all();
    expect(exported).toEqual([{ actor: 'token:docs-examples' }]);
  });
});
