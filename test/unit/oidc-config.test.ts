// OPSLAB_OIDC_* and OPSLAB_PASSWORD_LOGIN are validated together when the server starts; the role mapping.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config.js';
import { roleFor, ssoIdentity } from '../../server/src/auth/oidc-accounts.js';

const BASE = {
  OPSLAB_OIDC_ISSUER: 'https://login.example.com/realms/staff',
  OPSLAB_OIDC_CLIENT_ID: 'opslab',
  OPSLAB_OIDC_CLIENT_SECRET: 'secret',
  OPSLAB_OIDC_ALLOWED_DOMAINS: 'example.com, @Example.org',
  OPSLAB_OIDC_ADMIN_GROUPS: 'ops-admins',
  OPSLAB_OIDC_INTERVIEWER_GROUPS: 'hiring,interviewers',
};

const load = (env: Record<string, string>) => loadConfig(env, '/srv/opslab');
const fails = (env: Record<string, string>, pattern: RegExp) => {
  expect(() => load(env)).toThrow(ConfigError);
  expect(() => load(env)).toThrow(pattern);
};

describe('single sign-on settings', () => {
  it('are off by default, with password sign-in on', () => {
    const config = load({});
    expect(config.oidc).toBeNull();
    expect(config.passwordLogin).toBe(true);
  });

  it('read every variable', () => {
    expect(load({ ...BASE, OPSLAB_PASSWORD_LOGIN: 'off' })).toMatchObject({
      passwordLogin: false,
      oidc: {
        issuer: 'https://login.example.com/realms/staff',
        clientId: 'opslab',
        clientSecret: 'secret',
        name: 'login.example.com',
        scopes: ['openid', 'email', 'profile'],
        allowedDomains: ['example.com', 'example.org'],
        requireVerifiedEmail: true,
        roleClaim: 'groups',
        adminGroups: ['ops-admins'],
        interviewerGroups: ['hiring', 'interviewers'],
        defaultRole: null,
      },
    });
    expect(load({ ...BASE, OPSLAB_OIDC_ALLOWED_DOMAINS: '*', OPSLAB_OIDC_DEFAULT_ROLE: 'interviewer' }).oidc).toMatchObject({
      allowedDomains: '*',
      defaultRole: 'interviewer',
    });
  });

  it('refuse an issuer without a client id or secret, and OIDC settings without an issuer', () => {
    fails({ OPSLAB_OIDC_ISSUER: BASE.OPSLAB_OIDC_ISSUER }, /OPSLAB_OIDC_CLIENT_ID.*required with OPSLAB_OIDC_ISSUER/);
    fails({ ...BASE, OPSLAB_OIDC_CLIENT_SECRET: '' }, /OPSLAB_OIDC_CLIENT_SECRET/);
    fails({ OPSLAB_OIDC_CLIENT_ID: 'opslab' }, /OPSLAB_OIDC_CLIENT_ID.*without OPSLAB_OIDC_ISSUER/);
    fails({ ...BASE, OPSLAB_OIDC_ALLOWED_DOMAINS: '' }, /OPSLAB_OIDC_ALLOWED_DOMAINS/);
  });

  it('refuse bad values', () => {
    fails({ ...BASE, OPSLAB_OIDC_ISSUER: 'not a url' }, /OPSLAB_OIDC_ISSUER/);
    fails({ ...BASE, OPSLAB_OIDC_ISSUER: 'http://login.example.com' }, /https/);
    expect(load({ ...BASE, OPSLAB_OIDC_ISSUER: 'http://127.0.0.1:9000' }).oidc?.issuer).toBe('http://127.0.0.1:9000');
    fails({ ...BASE, OPSLAB_OIDC_ALLOWED_DOMAINS: 'example.com,not a domain' }, /"not a domain"/);
    fails({ ...BASE, OPSLAB_OIDC_SCOPES: 'email profile' }, /openid/);
    fails({ ...BASE, OPSLAB_OIDC_DEFAULT_ROLE: 'admin' }, /never admin/);
    fails({ ...BASE, OPSLAB_OIDC_ADMIN_GROUPS: '', OPSLAB_OIDC_INTERVIEWER_GROUPS: '' }, /nobody could sign in/);
    fails({ OPSLAB_PASSWORD_LOGIN: 'off' }, /OPSLAB_PASSWORD_LOGIN.*nobody could sign in/);
    fails({ OPSLAB_PASSWORD_LOGIN: 'maybe' }, /on or off/);
  });

  it('map groups to roles: admin first, then interviewer, then the default role for a new account', () => {
    const oidc = load(BASE).oidc!;
    expect(roleFor(oidc, ['hiring', 'ops-admins'])).toBe('admin');
    expect(roleFor(oidc, ['interviewers'])).toBe('interviewer');
    expect(roleFor(oidc, ['staff'])).toBeNull();
    const claims = { sub: 's1', email: 'kim@example.com', email_verified: true, groups: ['staff'] };
    expect(ssoIdentity(oidc, claims)).toBe('role');
    expect(ssoIdentity({ ...oidc, defaultRole: 'interviewer' }, claims)).toMatchObject({ role: 'interviewer', fromGroups: false });
  });

  it('check the claims: verified email, allowed domain, a group', () => {
    const oidc = load(BASE).oidc!;
    const claims = { sub: 's1', email: 'Kim@Example.com', email_verified: true, groups: 'hiring', name: 'Kim\u0007 K' };
    expect(ssoIdentity(oidc, claims)).toEqual({ subject: 's1', email: 'kim@example.com', name: 'Kim K', role: 'interviewer', fromGroups: true });
    expect(ssoIdentity(oidc, { ...claims, email_verified: 'true' })).toBe('email');
    expect(ssoIdentity(oidc, { ...claims, email_verified: undefined })).toBe('email');
    // Off: an email without the claim passes; one the provider calls unverified never does.
    const lax = { ...oidc, requireVerifiedEmail: false };
    expect(ssoIdentity(lax, { ...claims, email_verified: undefined })).toMatchObject({ email: 'kim@example.com' });
    expect(ssoIdentity(lax, { ...claims, email_verified: false })).toBe('email');
    expect(load({ ...BASE, OPSLAB_OIDC_REQUIRE_VERIFIED_EMAIL: 'off' }).oidc?.requireVerifiedEmail).toBe(false);
    fails({ ...BASE, OPSLAB_OIDC_REQUIRE_VERIFIED_EMAIL: 'sometimes' }, /on or off/);
    expect(ssoIdentity(oidc, { ...claims, email: 'kim@sub.example.com' })).toBe('domain');
    expect(ssoIdentity(oidc, { ...claims, groups: ['staff'] })).toBe('role');
    expect(ssoIdentity(oidc, { ...claims, sub: undefined })).toBe('token');
  });
});
