// Item 20, staff boundaries: no interviewer can act as a candidate. An invite's link is a claim link, shown once to
// its creator: no staff answer holds a working token, and once the candidate has started, the link alone opens no
// controlling session (the candidate's browser holds the attempt's own token, an HttpOnly cookie). Revoke, extend,
// reissue and deletion are for the invite's creator or an admin; another interviewer is refused, and every such
// action (refusals too) is in the audit log. The live view is read-only: its input, resizes and control frames
// never reach the shell. A reissue moves the attempt to a new browser, and the review's events say so.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../contract/index.js';
import { repoRoot } from '../../server/src/paths.js';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { attemptCookieToken, request } from '../helpers/api.js';
import { figure } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';

const ITEM = '20 staff boundaries';

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** Every string in a JSON value, and every token-shaped run inside those strings (a link's fragment, say). */
function candidateTokens(value: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      out.add(v);
      for (const m of v.matchAll(/[A-Za-z0-9_-]{16,}/g)) out.add(m[0]);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return out;
}

describe('security 20: staff boundaries (real server, real engine)', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises') } });
  let alice: StaffSession; // creates the invites
  let mallory: StaffSession; // another interviewer
  let admin: StaffSession;
  let candidate: TestTerminal | undefined;
  let live: TestTerminal | undefined;
  let inviteId = '';
  let pendingId = '';
  let claimToken = '';
  let attemptId = '';
  let own = '';

  const call = (method: string, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> =>
    request(server.url, method, url, headers, body);

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const createInvite = async (who: StaffSession, name: string) => {
    const res = await call('POST', '/api/manage/invites', who.headers, {
      exerciseId: 'graded-demo',
      candidateName: name,
      candidateEmail: 'casey@example.test',
      showFeedback: true,
      timeLimitMinutes: 30,
    });
    expect(res.status, res.text).toBe(201);
    return res.body.invite as { id: string; link: string };
  };
  const auditRows = (action: string, invite: string) =>
    server.services.sqlite!
      .prepare('SELECT user_id AS userId, action, invite_id AS inviteId, detail FROM audit_log WHERE action = ? AND invite_id = ?')
      .all(action, invite) as { userId: string; action: string; inviteId: string; detail: string | null }[];

  beforeAll(async () => {
    alice = await staffSession(server, 'interviewer', 'Alice Owner');
    mallory = await staffSession(server, 'interviewer', 'Mallory Other');
    admin = await staffSession(server, 'admin', 'Ada Admin');

    const created = await createInvite(alice, 'Casey Candidate');
    inviteId = created.id;
    claimToken = new URL(created.link).hash.slice(1);
    pendingId = (await createInvite(alice, 'Pat Pending')).id;
    const started = await call('POST', '/api/invite/start', bearer(claimToken));
    expect(started.status, started.text).toBe(201);
    attemptId = started.body.attempt.id;
    own = attemptCookieToken(started.headers, attemptId);
    candidate = await TestTerminal.connect(server.url, attemptId, own);
    await candidate.waitFor(/[#$] /);
  });
  afterAll(async () => {
    candidate?.close();
    live?.close();
  });

  it("another interviewer cannot revoke, extend, reissue or delete someone else's invite; each refusal is audited", async () => {
    const before = (await server.services.invites.get(inviteId))!;
    const attemptBefore = (await server.services.attempts.get(attemptId))!;
    const attempts: [string, string, unknown?][] = [
      ['POST', `/api/manage/invites/${inviteId}/revoke`],
      ['POST', `/api/manage/invites/${inviteId}/extend`, { minutes: 30 }],
      ['POST', `/api/manage/invites/${inviteId}/reissue`],
      ['DELETE', `/api/manage/attempts/${attemptId}`],
      ['POST', `/api/manage/invites/${pendingId}/revoke`],
      ['POST', `/api/manage/invites/${pendingId}/extend`, { minutes: 30 }],
      ['POST', `/api/manage/invites/${pendingId}/reissue`],
    ];
    let refused = 0;
    for (const [method, url, body] of attempts) {
      const res = await call(method, url, mallory.headers, body);
      expect(res.status, `${method} ${url}: ${res.text}`).toBe(403);
      expect(res.body.error.code).toBe('OPSLAB_ERR_FORBIDDEN');
      expect(res.body.error.message).toMatch(/Only the interviewer who created this invite \(Alice Owner\) or an admin/);
      refused++;
    }
    figure(ITEM, "another interviewer's revoke/extend/reissue/delete refused", `${refused} of ${attempts.length}`);
    expect(refused).toBe(attempts.length);

    // Nothing changed: the invite, its link, the attempt and its clock.
    const after = (await server.services.invites.get(inviteId))!;
    expect(after).toEqual(before);
    const attemptAfter = (await server.services.attempts.get(attemptId))!;
    expect([attemptAfter.state, attemptAfter.deadline, attemptAfter.tokenHash]).toEqual([
      'running',
      attemptBefore.deadline,
      attemptBefore.tokenHash,
    ]);
    expect((await call('GET', `/api/attempts/${attemptId}`, bearer(own))).status).toBe(200);
    // Mallory sees the invites as not hers to change; Alice and the admin may.
    const views = async (who: StaffSession) =>
      ((await call('GET', '/api/manage/invites', who.headers)).body.invites as { id: string; canManage: boolean }[]).find((i) => i.id === inviteId)!;
    expect((await views(mallory)).canManage).toBe(false);
    expect((await views(alice)).canManage).toBe(true);
    expect((await views(admin)).canManage).toBe(true);

    const refusals = [...auditRows('invite.refused', inviteId), ...auditRows('invite.refused', pendingId)];
    figure(ITEM, 'refusals written to the audit log', `${refusals.length} of ${attempts.length}`);
    expect(refusals.length).toBe(attempts.length);
    expect(refusals.every((r) => r.userId === mallory.user.id)).toBe(true);
    expect(refusals.map((r) => JSON.parse(r.detail!).action).sort()).toEqual(
      ['delete', 'extend', 'extend', 'reissue', 'reissue', 'revoke', 'revoke'],
    );
  });

  it('no staff answer holds a working credential: every string of the list, the review and the export tried as a token', async () => {
    const answers: Answer[] = [];
    for (const who of [alice, mallory, admin]) {
      answers.push(await call('GET', '/api/manage/invites', who.headers));
      answers.push(await call('GET', `/api/manage/attempts/${attemptId}`, who.headers));
    }
    answers.push(await call('GET', `/api/manage/attempts/${attemptId}/export.json`, alice.headers));
    answers.push(await call('GET', '/api/manage/attempts', alice.headers));
    for (const a of answers) expect(a.status, a.text.slice(0, 200)).toBe(200);
    expect(answers[0]!.text).not.toContain('/invite#');

    const tokens = new Set<string>();
    for (const a of answers) for (const t of candidateTokens(a.body)) tokens.add(t);
    let tried = 0;
    const working: string[] = [];
    for (const token of tokens) {
      if (token.length > 4096 || /[\r\n]/.test(token)) continue;
      const safe = /^[\x21-\x7e]+$/.test(token);
      if (!safe) continue;
      tried++;
      const tries = [
        call('GET', '/api/invite', bearer(token)),
        call('GET', `/api/attempts/${attemptId}`, bearer(token)),
        call('GET', `/api/attempts/${attemptId}`, { cookie: `opslab_attempt_${attemptId}=${encodeURIComponent(token)}` }),
      ];
      for (const res of await Promise.all(tries)) if (res.status < 300) working.push(token);
    }
    figure(ITEM, 'strings in staff answers tried as tokens', tried);
    figure(ITEM, 'of them opening an invite or the attempt', working.length);
    expect(tried).toBeGreaterThan(20);
    expect(working).toEqual([]);
  });

  it('the invite link after the start opens no controlling session', async () => {
    let opened = 0;
    const probes: Promise<number>[] = [
      call('POST', '/api/invite/start', bearer(claimToken)).then((r) => {
        expect(r.headers.getSetCookie()).toEqual([]);
        return r.status;
      }),
      call('GET', `/api/attempts/${attemptId}`, bearer(claimToken)).then((r) => r.status),
      call('POST', `/api/attempts/${attemptId}/submit`, bearer(claimToken)).then((r) => r.status),
      call('POST', `/api/attempts/${attemptId}/reset`, bearer(claimToken)).then((r) => r.status),
      call('POST', `/api/attempts/${attemptId}/restart-shell`, bearer(claimToken)).then((r) => r.status),
      call('POST', `/api/attempts/${attemptId}/hints`, { cookie: `opslab_attempt_${attemptId}=${claimToken}` }).then((r) => r.status),
      TestTerminal.refusedStatus(`${server.url}/api/attempts/${attemptId}/terminal`, bearer(claimToken)),
      TestTerminal.refusedStatus(`${server.url}/api/attempts/${attemptId}/terminal`, { cookie: `opslab_attempt_${attemptId}=${claimToken}` }),
    ];
    const statuses = await Promise.all(probes);
    for (const s of statuses) if (s < 400) opened++;
    figure(ITEM, 'controlling requests with the started invite link that worked', `${opened} of ${statuses.length}`);
    expect(statuses[0]).toBe(409);
    expect(statuses.slice(1)).toEqual([404, 404, 404, 404, 404, 404, 404]);
    expect(opened).toBe(0);
    const attempt = (await server.services.attempts.get(attemptId))!;
    expect([attempt.state, attempt.hintsRevealed]).toEqual(['running', 0]);
  });

  it('the live view is read-only: input, resizes and control frames never reach the shell', async () => {
    const term = candidate!;
    const marker = `viewer-${Date.now().toString(36)}`;
    const sizes = () => [...stripAnsi(term.text).matchAll(/size=(\d+ \d+)/g)].map((m) => m[1]);
    // The resize reaches the shell through the engine while typed input goes straight in: ask until it has landed.
    term.resize(100, 30);
    for (let i = 0; i < 20 && sizes().at(-1) !== '30 100'; i++) {
      const n = sizes().length;
      term.type('echo "size=$(stty size)"\r');
      await term.waitFor(() => sizes().length === n + 1);
      if (sizes().at(-1) !== '30 100') await new Promise((r) => setTimeout(r, 100));
    }
    const sizeBefore = sizes().at(-1);
    expect(sizeBefore).toBe('30 100');
    const asked = sizes().length;

    live = await TestTerminal.open(`${server.url}/api/manage/attempts/${attemptId}/live`, { cookie: alice.cookie });
    await live.waitFor(() => live!.controls.some((c) => c.type === 'hello'));
    expect(live.controls.find((c) => c.type === 'hello')!.readOnly).toBe(true);
    const sent = { input: 0, resize: 0, control: 0 };
    for (let i = 0; i < 5; i++) {
      live.type(`touch /tmp/${marker}; echo ${marker}\r`);
      sent.input++;
      live.ws.send(Buffer.from(`\x03echo ${marker}-raw\r`), { binary: true });
      sent.input++;
      live.resize(33 + i, 11 + i);
      sent.resize++;
      live.sendControl({ type: 'input', data: `echo ${marker}-control\r` });
      live.sendControl({ type: 'restart-shell' });
      sent.control += 2;
    }
    // The candidate's shell: no file, the same size, none of the viewer's text typed.
    // The shell echoes what is typed: split strings, so that only their output matches.
    term.type(`echo "size=$(stty size)"; echo "fin""ished-${marker}"\r`);
    await term.waitFor(() => sizes().length === asked + 1 && stripAnsi(term.text).includes(`finished-${marker}`));
    await live.waitFor(`finished-${marker}`);
    expect(sizes().at(-1)).toBe(sizeBefore);
    expect(stripAnsi(term.text)).not.toContain(`${marker}-raw`);
    const exec = await server.services.driver.exec((await server.services.attempts.get(attemptId))!.sandboxId!, ['sh', '-c', `ls /tmp/${marker} 2>/dev/null | wc -l`]);
    const fileMade = Number(exec.stdout.trim());
    expect(fileMade).toBe(0);
    // The recording holds every byte the shell was sent ('i' events): none of the viewer's.
    server.services.attempts.flushRecording(attemptId);
    const cast = parseAsciicast(fs.readFileSync(server.services.attempts.recordingFile((await server.services.attempts.get(attemptId))!), 'utf8'));
    const typed = cast.events.filter((e) => e[1] === 'i').map((e) => String(e[2])).join('');
    const reached = (typed.match(new RegExp(`touch /tmp/${marker}|${marker}-raw|${marker}-control`, 'g')) ?? []).length;
    const resizesReached = cast.events.filter((e) => e[1] === 'r' && /^3[3-7]x1[1-5]$/.test(String(e[2]))).length;
    figure(ITEM, 'live-view frames sent (input / resize / control)', `${sent.input} / ${sent.resize} / ${sent.control}`);
    figure(ITEM, 'of them reaching the shell (typed / resized / file made)', `${reached} / ${resizesReached} / ${fileMade}`);
    expect(reached).toBe(0);
    expect(resizesReached).toBe(0);
    expect(live.controls.some((c) => c.type === 'notice' && c.code === 'read_only')).toBe(true);
    // The candidate's window was never replaced by the viewer.
    expect(term.controls.some((c) => c.type === 'notice' && c.code === 'replaced')).toBe(false);
    live.close();
  });

  it("a reissue by the invite's creator moves the attempt to a new browser: old link and old browser locked out, audited, in the review", async () => {
    const term = candidate!;
    const reissued = await call('POST', `/api/manage/invites/${inviteId}/reissue`, alice.headers);
    expect(reissued.status, reissued.text).toBe(200);
    const newToken = new URL(reissued.body.invite.link).hash.slice(1);
    expect(newToken).not.toBe(claimToken);
    expect(reissued.body.invite.claimed).toBe(false);

    // The old browser: its terminal closes and its token opens nothing; the old link is unknown.
    const closed = await term.closed;
    expect(closed.code).toBe(CLOSE_CODES.moved);
    const oldBrowser = await call('GET', `/api/attempts/${attemptId}`, bearer(own));
    const oldLink = await call('GET', '/api/invite', bearer(claimToken));
    const oldUpgrade = await TestTerminal.refusedStatus(`${server.url}/api/attempts/${attemptId}/terminal`, bearer(own));
    figure(ITEM, 'after a reissue: old browser / old link / old terminal', `${oldBrowser.status} / ${oldLink.status} / ${oldUpgrade}`);
    expect([oldBrowser.status, oldLink.status, oldUpgrade]).toEqual([404, 404, 404]);

    // The new link takes the attempt over once, with a new cookie; then it is claimed too.
    const landing = await call('GET', '/api/invite', bearer(newToken));
    expect(landing.body.invite).toMatchObject({ state: 'running', claimed: false, attemptId });
    const claimed = await call('POST', '/api/invite/start', bearer(newToken));
    expect(claimed.status, claimed.text).toBe(200);
    const newOwn = attemptCookieToken(claimed.headers, attemptId);
    expect(newOwn).not.toBe(own);
    expect((await call('POST', '/api/invite/start', bearer(newToken))).status).toBe(409);
    const moved = await TestTerminal.connect(server.url, attemptId, newOwn);
    moved.type('echo "moved""-here"\r');
    await moved.waitFor('moved-here');
    moved.close();

    // The review shows that the attempt changed hands, and who did it.
    const bundle = await call('GET', `/api/manage/attempts/${attemptId}`, mallory.headers);
    const events = bundle.body.events as { kind: string; detail: any }[];
    const reissue = events.find((e) => e.kind === 'link-reissued');
    expect(reissue?.detail.by).toEqual({ id: alice.user.id, name: 'Alice Owner' });
    expect(events.some((e) => e.kind === 'link-claimed')).toBe(true);
    server.services.attempts.flushRecording(attemptId);
    const cast = parseAsciicast(fs.readFileSync(server.services.attempts.recordingFile((await server.services.attempts.get(attemptId))!), 'utf8'));
    expect(cast.events.some((e) => e[1] === 'm' && e[2] === 'link reissued by Alice Owner')).toBe(true);

    // An admin may change any invite; the creator revokes and deletes. Every action is in the audit log.
    expect((await call('POST', `/api/manage/invites/${inviteId}/extend`, admin.headers, { minutes: 5 })).status).toBe(200);
    expect((await call('POST', `/api/manage/invites/${pendingId}/reissue`, admin.headers)).status).toBe(200);
    expect((await call('POST', `/api/manage/invites/${inviteId}/revoke`, alice.headers)).status).toBe(200);
    const rows = {
      create: auditRows('invite.create', inviteId).length + auditRows('invite.create', pendingId).length,
      extend: auditRows('attempt.extend', inviteId).length,
      reissue: auditRows('invite.reissue', inviteId).length + auditRows('invite.reissue', pendingId).length,
      revoke: auditRows('invite.revoke', inviteId).length,
    };
    expect((await call('DELETE', `/api/manage/attempts/${attemptId}`, alice.headers)).status).toBe(204);
    const deleted = server.services.sqlite!
      .prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'attempt.delete' AND attempt_id = ? AND user_id = ?")
      .get(attemptId, alice.user.id) as { n: number };
    figure(ITEM, 'audit rows (create / extend / reissue / revoke / delete)', `${rows.create} / ${rows.extend} / ${rows.reissue} / ${rows.revoke} / ${deleted.n}`);
    expect(rows).toEqual({ create: 2, extend: 1, reissue: 2, revoke: 1 });
    expect(deleted.n).toBe(1);
  });
});
