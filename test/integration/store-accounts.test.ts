// The accounts repositories (users with their one-time tokens and sessions, the audit log, API tokens, OpenID
// Connect sign-ins under way) on SQLite and on a real PostgreSQL server: each method, and the races their callers
// rely on being decided by the database (one redeemer of a token, one first admin, never no admin left, a bounded
// number of live tokens and pending sign-ins, a sign-in taken once).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiScope } from '../../contract/api-tokens.js';
import { ApiTokensRepo, type ApiTokenRecord } from '../../server/src/store/api-tokens-repo.js';
import { AuditRepo } from '../../server/src/store/audit-repo.js';
import { OidcLoginsRepo, type OidcLogin } from '../../server/src/store/oidc-logins-repo.js';
import type { Database } from '../../server/src/store/sql.js';
import { isUniqueViolation, UsersRepo, type UserRecord } from '../../server/src/store/users-repo.js';
import { testDatabases } from '../helpers/databases.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const id = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

let clock = Date.UTC(2026, 0, 1);
const later = () => (clock += 1000);

function user(over: Partial<UserRecord> = {}): UserRecord {
  const uid = id('u');
  return {
    id: uid,
    email: `${uid}@example.test`,
    name: `Name ${uid}`,
    role: 'interviewer',
    passwordHash: 'scrypt$hash',
    createdAt: later(),
    createdBy: null,
    disabledAt: null,
    ...over,
  };
}

function apiToken(createdBy: string, over: Partial<ApiTokenRecord> = {}): ApiTokenRecord {
  return {
    id: id('t'),
    name: id('name'),
    secretHash: randomBytes(32).toString('hex'),
    prefix: 'opslab_pat_abcd',
    scopes: ['invites:write' as ApiScope],
    createdBy,
    createdAt: later(),
    expiresAt: null,
    lastUsedAt: null,
    revokedAt: null,
    revokedBy: null,
    ...over,
  };
}

function login(over: Partial<OidcLogin> = {}): OidcLogin {
  const now = later();
  return {
    stateHash: randomBytes(32).toString('hex'),
    browserHash: randomBytes(32).toString('hex'),
    nonce: 'nonce',
    codeVerifier: 'verifier',
    next: '/manage',
    createdAt: now,
    expiresAt: now + 600_000,
    ...over,
  };
}

describe.each(testDatabases())('accounts repositories on $name', (kind) => {
  let db: Database;
  let users: UsersRepo;
  beforeAll(async () => {
    db = await kind.open();
    users = new UsersRepo(db);
  }, 120_000);
  afterAll(() => kind.closeAll(), 60_000);

  /** A fresh database for a test that counts whole tables. */
  const fresh = async () => {
    const own = await kind.open();
    return { sql: own, users: new UsersRepo(own) };
  };

  describe('users', () => {
    it('inserts, reads by id and by email without regard to case, and counts', async () => {
      const own = await fresh();
      expect(await own.users.count()).toBe(0);
      const ada = user({ email: 'ada@example.test', name: 'Ada', role: 'admin', createdBy: 'u_cli' });
      await own.users.insert(ada);
      expect(await own.users.get(ada.id)).toEqual(ada);
      expect(await own.users.get('u_missing')).toBeNull();
      expect(await own.users.byEmail('ada@example.test')).toEqual(ada);
      expect(await own.users.byEmail('ADA@Example.TEST')).toEqual(ada);
      expect(await own.users.byEmail('bea@example.test')).toBeNull();
      expect(await own.users.count()).toBe(1);
      // The email is unique whatever its case.
      const clash = await own.users.insert(user({ email: 'Ada@Example.test' })).catch((err: unknown) => err);
      expect(isUniqueViolation(clash)).toBe(true);
      expect(await own.users.count()).toBe(1);
    });

    it('lists oldest first', async () => {
      const own = await fresh();
      const b = user({ createdAt: 2000 });
      const a = user({ createdAt: 1000 });
      const c = user({ createdAt: 3000 });
      for (const u of [b, a, c]) await own.users.insert(u);
      expect((await own.users.list()).map((u) => u.id)).toEqual([a.id, b.id, c.id]);
    });

    it('reads names in one call, leaving out unknown ids', async () => {
      const a = user({ name: 'Ann' });
      const b = user({ name: 'Bob' });
      await users.insert(a);
      await users.insert(b);
      expect(await users.names([])).toEqual(new Map());
      const names = await users.names([a.id, b.id, a.id, 'u_missing']);
      expect(names).toEqual(new Map([[a.id, 'Ann'], [b.id, 'Bob']]));
      // More ids than one statement takes.
      const many = [...Array.from({ length: 1200 }, (_, i) => `u_none_${i}`), b.id];
      expect(await users.names(many)).toEqual(new Map([[b.id, 'Bob']]));
    });

    it('sets a password, a role and an identity, and disables once', async () => {
      const u = user({ passwordHash: null });
      await users.insert(u);
      await users.setPassword(u.id, 'scrypt$new');
      await users.setRole(u.id, 'admin');
      expect(await users.get(u.id)).toMatchObject({ passwordHash: 'scrypt$new', role: 'admin' });

      expect(await users.subjectOf(u.id)).toBeNull();
      expect(await users.bySubject('https://idp.test', 'sub-1')).toBeNull();
      await users.setSubject(u.id, 'https://idp.test', 'sub-1');
      expect(await users.subjectOf(u.id)).toEqual({ issuer: 'https://idp.test', subject: 'sub-1' });
      expect((await users.bySubject('https://idp.test', 'sub-1'))?.id).toBe(u.id);
      expect(await users.bySubject('https://other.test', 'sub-1')).toBeNull();
      // One account per identity.
      const twice = user();
      await users.insert(twice);
      expect(isUniqueViolation(await users.setSubject(twice.id, 'https://idp.test', 'sub-1').catch((err: unknown) => err))).toBe(true);

      expect(await users.disable(u.id, 5000)).toBe(true);
      expect(await users.disable(u.id, 6000)).toBe(false);
      expect((await users.get(u.id))?.disabledAt).toBe(5000);
      expect(await users.disable('u_missing', 6000)).toBe(false);
    });

    it('active admins: not disabled, and able to sign in (a password or a linked identity)', async () => {
      const own = await fresh();
      const withPassword = user({ role: 'admin' });
      const linked = user({ role: 'admin', passwordHash: null });
      const pending = user({ role: 'admin', passwordHash: null });
      const disabled = user({ role: 'admin', disabledAt: 1 });
      const interviewer = user({ role: 'interviewer' });
      for (const u of [withPassword, linked, pending, disabled, interviewer]) await own.users.insert(u);
      await own.users.setSubject(linked.id, 'https://idp.test', 'sub-admin');
      expect((await own.users.activeAdmins()).map((u) => u.id).sort()).toEqual([withPassword.id, linked.id].sort());
    });

    it('a transaction rolls back everything when it throws', async () => {
      const u = user();
      await expect(
        users.transaction(async (tx) => {
          await tx.insert(u);
          await tx.setRole(u.id, 'admin');
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect(await users.get(u.id)).toBeNull();
    });

    it('of first-admin setups at once, one makes the account (a count read, then an insert)', async () => {
      const own = await fresh();
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd'].map((who) =>
          own.users.transaction(async (tx) => {
            if ((await tx.count()) > 0) throw new Error('taken');
            await sleep(5);
            await tx.insert(user({ email: `${who}@example.test`, role: 'admin' }));
            return who;
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/taken/);
      expect(await own.users.count()).toBe(1);
    }, 60_000);

    it('two admins disabled at once never leave no active admin (read the admins, then write)', async () => {
      const own = await fresh();
      const a = user({ role: 'admin' });
      const b = user({ role: 'admin' });
      await own.users.insert(a);
      await own.users.insert(b);
      const disable = (target: UserRecord) =>
        own.users.transaction(async (tx) => {
          const others = (await tx.activeAdmins()).filter((x) => x.id !== target.id);
          if (others.length === 0) throw new Error('last active admin');
          await sleep(5);
          await tx.disable(target.id, later());
          await tx.deleteSessionsOf(target.id);
        });
      const results = await Promise.allSettled([disable(a), disable(b)]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(String((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/last active admin/);
      expect(await own.users.activeAdmins()).toHaveLength(1);
    }, 60_000);

    it('the same email added at once: one account, the other refused by the check or by the index', async () => {
      const own = await fresh();
      const results = await Promise.allSettled(
        [0, 1, 2].map((i) =>
          own.users.transaction(async (tx) => {
            if (await tx.byEmail('same@example.test')) throw new Error('taken');
            await sleep(5);
            await tx.insert(user({ email: i === 0 ? 'same@example.test' : 'SAME@example.test' }));
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(String(r.reason).includes('taken') || isUniqueViolation(r.reason)).toBe(true);
      }
      expect(await own.users.count()).toBe(1);
    }, 60_000);
  });

  describe('account tokens', () => {
    it('stores, reads, uses once and deletes by purpose', async () => {
      const owner = user();
      await users.insert(owner);
      const setup = { tokenHash: id('h'), purpose: 'setup' as const, userId: null, createdAt: 1, expiresAt: 2, usedAt: null };
      const activate = { tokenHash: id('h'), purpose: 'activate' as const, userId: owner.id, createdAt: 1, expiresAt: 2, usedAt: null };
      await users.insertToken(setup);
      await users.insertToken(activate);
      expect(await users.token(setup.tokenHash)).toEqual(setup);
      expect(await users.token(activate.tokenHash)).toEqual(activate);
      expect(await users.token('nope')).toBeNull();
      expect(await users.useToken(activate.tokenHash, 10)).toBe(true);
      expect(await users.useToken(activate.tokenHash, 11)).toBe(false);
      expect((await users.token(activate.tokenHash))?.usedAt).toBe(10);
      expect(await users.useToken('nope', 10)).toBe(false);
      await users.deleteTokens('setup');
      expect(await users.token(setup.tokenHash)).toBeNull();
      expect(await users.token(activate.tokenHash)).not.toBeNull();
    });

    it('a token used by many at once has exactly one redeemer', async () => {
      const hash = id('h');
      await users.insertToken({ tokenHash: hash, purpose: 'setup', userId: null, createdAt: 1, expiresAt: 2, usedAt: null });
      const won = await Promise.all(Array.from({ length: 8 }, (_, i) => users.useToken(hash, 100 + i)));
      expect(won.filter(Boolean)).toHaveLength(1);
    });

    it('inside transactions too: of setups racing with one link, one uses it', async () => {
      const hash = id('h');
      await users.insertToken({ tokenHash: hash, purpose: 'setup', userId: null, createdAt: 1, expiresAt: 2, usedAt: null });
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () =>
          users.transaction(async (tx) => {
            const token = await tx.token(hash);
            if (!token || token.usedAt !== null) throw new Error('used');
            await sleep(5);
            if (!(await tx.useToken(hash, later()))) throw new Error('used');
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    }, 60_000);
  });

  describe('sessions', () => {
    it('stores, reads, touches forward only and deletes', async () => {
      const owner = user();
      await users.insert(owner);
      const s = { idHash: id('s'), userId: owner.id, csrfToken: 'csrf', createdAt: 1000, lastSeenAt: 1000, expiresAt: 5000 };
      await users.insertSession(s);
      expect(await users.session(s.idHash)).toEqual(s);
      expect(await users.session('nope')).toBeNull();
      await users.touchSession(s.idHash, 2000, 6000);
      expect(await users.session(s.idHash)).toMatchObject({ lastSeenAt: 2000, expiresAt: 6000 });
      // A request that read the session before the last touch does not move it back.
      await users.touchSession(s.idHash, 1500, 5500);
      expect(await users.session(s.idHash)).toMatchObject({ lastSeenAt: 2000, expiresAt: 6000 });
      expect(await users.deleteSession(s.idHash)).toBe(true);
      expect(await users.deleteSession(s.idHash)).toBe(false);
      // A touch does not bring an ended session back.
      await users.touchSession(s.idHash, 3000, 7000);
      expect(await users.session(s.idHash)).toBeNull();
    });

    it('deletes a user’s sessions and the expired ones, counting them', async () => {
      const own = await fresh();
      const a = user();
      const b = user();
      await own.users.insert(a);
      await own.users.insert(b);
      const session = (userId: string, expiresAt: number) => ({ idHash: id('s'), userId, csrfToken: 'c', createdAt: 0, lastSeenAt: 0, expiresAt });
      for (const s of [session(a.id, 100), session(a.id, 200), session(b.id, 100), session(b.id, 300)]) await own.users.insertSession(s);
      expect(await own.users.deleteSessionsOf(a.id)).toBe(2);
      expect(await own.users.deleteSessionsOf(a.id)).toBe(0);
      // Expired at `now` means expires_at <= now.
      expect(await own.users.deleteExpiredSessions(100)).toBe(1);
      expect(await own.users.deleteExpiredSessions(299)).toBe(0);
      expect(await own.users.deleteExpiredSessions(300)).toBe(1);
    });
  });

  describe('audit log', () => {
    it('appends entries and lists the newest first, with the user’s name at reading time', async () => {
      const own = await fresh();
      const audit = new AuditRepo(own.sql);
      const ada = user({ name: 'Ada' });
      await own.users.insert(ada);
      await audit.insert({ at: 1, userId: ada.id, action: 'login', attemptId: null, inviteId: null, detail: { ip: '10.0.0.1' } });
      await audit.insert({ at: 2, userId: null, action: 'invite.create', attemptId: 'a_1', inviteId: 'i_1', detail: null, actor: 'token:ci' });
      await audit.insert({ at: 3, userId: 'u_gone', action: 'logout', attemptId: null, inviteId: null, detail: undefined });
      const entries = await audit.list(10);
      expect(entries.map((e) => e.action)).toEqual(['logout', 'invite.create', 'login']);
      expect(entries[0]).toMatchObject({ at: 3, userId: 'u_gone', userName: null, actor: null, detail: null });
      expect(entries[1]).toMatchObject({ at: 2, userId: null, userName: null, actor: 'token:ci', attemptId: 'a_1', inviteId: 'i_1', detail: null });
      expect(entries[2]).toMatchObject({ at: 1, userId: ada.id, userName: 'Ada', actor: null, detail: { ip: '10.0.0.1' } });
      expect(typeof entries[0]!.id).toBe('number');
      expect(entries[0]!.id).toBeGreaterThan(entries[1]!.id);
      expect((await audit.list(2)).map((e) => e.action)).toEqual(['logout', 'invite.create']);
    });

    it('an entry written in a transaction goes with it', async () => {
      const own = await fresh();
      const audit = new AuditRepo(own.sql);
      await expect(
        own.sql.transaction(async (tx) => {
          await new AuditRepo(tx).insert({ at: 1, userId: null, action: 'user.disable', attemptId: null, inviteId: null, detail: null });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await audit.list(10)).toEqual([]);
    });
  });

  describe('API tokens', () => {
    it('stores and reads a token, by id and by its secret’s hash', async () => {
      const owner = user({ role: 'admin' });
      await users.insert(owner);
      const repo = new ApiTokensRepo(db);
      const t = apiToken(owner.id, { scopes: ['invites:write', 'attempts:read'] as ApiScope[], expiresAt: 99_000 });
      await repo.insert(t);
      expect(await repo.get(t.id)).toEqual(t);
      expect(await repo.bySecretHash(t.secretHash)).toEqual(t);
      expect(await repo.get('t_missing')).toBeNull();
      expect(await repo.bySecretHash('nope')).toBeNull();
      await repo.touch(t.id, 5000);
      expect((await repo.get(t.id))?.lastUsedAt).toBe(5000);
    });

    it('lists newest first, counts live tokens and knows live names', async () => {
      const own = await fresh();
      const owner = user({ role: 'admin' });
      await own.users.insert(owner);
      const repo = new ApiTokensRepo(own.sql);
      const now = 50_000;
      const older = apiToken(owner.id, { name: 'older', createdAt: 1000 });
      const expired = apiToken(owner.id, { name: 'expired', createdAt: 2000, expiresAt: now });
      const newer = apiToken(owner.id, { name: 'newer', createdAt: 3000, expiresAt: now + 1 });
      const revoked = apiToken(owner.id, { name: 'revoked', createdAt: 4000 });
      for (const t of [expired, older, revoked, newer]) await repo.insert(t);
      expect((await repo.list()).map((t) => t.name)).toEqual(['revoked', 'newer', 'expired', 'older']);
      expect(await repo.countLive(now)).toBe(4 - 1);
      expect(await repo.revoke(revoked.id, now, owner.id)).toBe(true);
      expect(await repo.revoke(revoked.id, now + 1, owner.id)).toBe(false);
      expect(await repo.get(revoked.id)).toMatchObject({ revokedAt: now, revokedBy: owner.id });
      expect(await repo.countLive(now)).toBe(2);
      expect(await repo.liveNameTaken('older')).toBe(true);
      // Expired is still a live name (only revocation frees it), revoked is not; names compare exactly.
      expect(await repo.liveNameTaken('expired')).toBe(true);
      expect(await repo.liveNameTaken('revoked')).toBe(false);
      expect(await repo.liveNameTaken('OLDER')).toBe(false);
    });

    it('insertLive refuses a live name and a full set, and frees a revoked name', async () => {
      const own = await fresh();
      const owner = user({ role: 'admin' });
      await own.users.insert(owner);
      const repo = new ApiTokensRepo(own.sql);
      const now = 10_000;
      const first = apiToken(owner.id, { name: 'ci' });
      expect(await repo.insertLive(first, now, 2)).toBe('created');
      expect(await repo.insertLive(apiToken(owner.id, { name: 'ci' }), now, 2)).toBe('name-taken');
      expect(await repo.insertLive(apiToken(owner.id, { name: 'deploy' }), now, 2)).toBe('created');
      expect(await repo.insertLive(apiToken(owner.id, { name: 'third' }), now, 2)).toBe('too-many');
      await repo.revoke(first.id, now, owner.id);
      expect(await repo.insertLive(apiToken(owner.id, { name: 'ci' }), now, 2)).toBe('created');
      expect(await repo.countLive(now)).toBe(2);
    });

    it('tokens created at once never pass the limit, and one live name is given once', async () => {
      const own = await fresh();
      const owner = user({ role: 'admin' });
      await own.users.insert(owner);
      const repo = new ApiTokensRepo(own.sql);
      const now = 10_000;
      const counted = await Promise.all(Array.from({ length: 6 }, () => repo.insertLive(apiToken(owner.id), now, 3)));
      expect(counted.filter((r) => r === 'created')).toHaveLength(3);
      expect(counted.filter((r) => r === 'too-many')).toHaveLength(3);
      expect(await repo.countLive(now)).toBe(3);

      const named = await Promise.all(Array.from({ length: 4 }, () => repo.insertLive(apiToken(owner.id, { name: 'same' }), now, 100)));
      expect(named.filter((r) => r === 'created')).toHaveLength(1);
      expect(named.filter((r) => r === 'name-taken')).toHaveLength(3);
    }, 60_000);

    it('of revocations at once, one wins', async () => {
      const owner = user({ role: 'admin' });
      await users.insert(owner);
      const repo = new ApiTokensRepo(db);
      const t = apiToken(owner.id);
      await repo.insert(t);
      const won = await Promise.all(Array.from({ length: 5 }, (_, i) => repo.revoke(t.id, 100 + i, owner.id)));
      expect(won.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('OpenID Connect sign-ins under way', () => {
    it('stores a sign-in and takes it once', async () => {
      const logins = new OidcLoginsRepo(db);
      const l = login({ next: '/manage/attempts' });
      await logins.insert(l);
      expect(await logins.take(l.stateHash)).toEqual(l);
      expect(await logins.take(l.stateHash)).toBeNull();
      expect(await logins.take('unknown')).toBeNull();
    });

    it('of callbacks with one state at once, exactly one gets the sign-in', async () => {
      const logins = new OidcLoginsRepo(db);
      const l = login();
      await logins.insert(l);
      const taken = await Promise.all(Array.from({ length: 8 }, () => logins.take(l.stateHash)));
      expect(taken.filter((t) => t !== null)).toEqual([l]);
    });

    it('drops expired sign-ins and counts the rest', async () => {
      const own = await fresh();
      const logins = new OidcLoginsRepo(own.sql);
      await logins.insert(login({ expiresAt: 100 }));
      await logins.insert(login({ expiresAt: 200 }));
      await logins.insert(login({ expiresAt: 300 }));
      expect(await logins.count()).toBe(3);
      expect(await logins.deleteExpired(99)).toBe(0);
      expect(await logins.deleteExpired(200)).toBe(2);
      expect(await logins.count()).toBe(1);
    });

    it('insertBounded drops the expired first and refuses past the bound, also when sign-ins begin at once', async () => {
      const own = await fresh();
      const logins = new OidcLoginsRepo(own.sql);
      await logins.insert(login({ expiresAt: 100 }));
      await logins.insert(login({ expiresAt: 100 }));
      expect(await logins.insertBounded(login({ expiresAt: 10_000 }), 100, 2)).toBe(true);
      expect(await logins.count()).toBe(1);
      expect(await logins.insertBounded(login({ expiresAt: 10_000 }), 100, 2)).toBe(true);
      expect(await logins.insertBounded(login({ expiresAt: 10_000 }), 100, 2)).toBe(false);
      expect(await logins.count()).toBe(2);

      const racing = await Promise.all(Array.from({ length: 6 }, () => logins.insertBounded(login({ expiresAt: 10_000 }), 100, 5)));
      expect(racing.filter(Boolean)).toHaveLength(3);
      expect(await logins.count()).toBe(5);
    }, 60_000);
  });
});
