// Staff sign-in settings: OPSLAB_OIDC_* (an OpenID Connect provider) and OPSLAB_PASSWORD_LOGIN, validated together.

import { ConfigError, list, str, type Env } from './config-env.js';

/** Staff sign-in through an OpenID Connect provider (authorization code flow with PKCE). */
export interface OidcConfig {
  /** The issuer identifier; its discovery document is `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** What the sign-in button says: "Sign in with <name>". */
  name: string;
  /** Scopes asked for; always includes `openid`. */
  scopes: string[];
  /** Email domains (lowercase) allowed to sign in, or `*` for any; the email must be verified by the provider. */
  allowedDomains: string[] | '*';
  /**
   * Whether the email must come with `email_verified: true` (on), or may come without the claim (off: for providers
   * that only issue addresses of domains they own and do not send it); `email_verified: false` is always refused.
   */
  requireVerifiedEmail: boolean;
  /** The claim holding the user's groups (a list of strings, or one string). */
  roleClaim: string;
  adminGroups: string[];
  interviewerGroups: string[];
  /** The role of a new account whose user is in none of the groups (an existing one keeps its role); null refuses them. */
  defaultRole: 'interviewer' | null;
}

const OIDC_VARIABLES = [
  'OPSLAB_OIDC_ISSUER',
  'OPSLAB_OIDC_CLIENT_ID',
  'OPSLAB_OIDC_CLIENT_SECRET',
  'OPSLAB_OIDC_NAME',
  'OPSLAB_OIDC_SCOPES',
  'OPSLAB_OIDC_ALLOWED_DOMAINS',
  'OPSLAB_OIDC_ROLE_CLAIM',
  'OPSLAB_OIDC_ADMIN_GROUPS',
  'OPSLAB_OIDC_INTERVIEWER_GROUPS',
  'OPSLAB_OIDC_DEFAULT_ROLE',
  'OPSLAB_OIDC_REQUIRE_VERIFIED_EMAIL',
] as const;

/** Whether a host is this machine's loopback (the only place an `http:` issuer is accepted). */
const isLoopback = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);

/**
 * OPSLAB_OIDC_* and OPSLAB_PASSWORD_LOGIN, validated together: any OIDC variable without OPSLAB_OIDC_ISSUER, an
 * issuer without a client id or secret, or password sign-in off without OIDC stops the server with a message.
 */
export function signIn(env: Env): { oidc: OidcConfig | null; passwordLogin: boolean } {
  const passwordSwitch = str(env, 'OPSLAB_PASSWORD_LOGIN', 'on').toLowerCase();
  if (passwordSwitch !== 'on' && passwordSwitch !== 'off') {
    throw new ConfigError('OPSLAB_PASSWORD_LOGIN', passwordSwitch, 'on or off');
  }
  const passwordLogin = passwordSwitch === 'on';
  const issuerRaw = str(env, 'OPSLAB_OIDC_ISSUER', '');
  if (issuerRaw === '') {
    const stray = OIDC_VARIABLES.find((name) => str(env, name, '') !== '');
    if (stray) throw new ConfigError(stray, str(env, stray, ''), 'nothing without OPSLAB_OIDC_ISSUER (set the issuer too, or unset it)');
    if (!passwordLogin) {
      throw new ConfigError('OPSLAB_PASSWORD_LOGIN', 'off', 'on while no OpenID Connect provider is configured (OPSLAB_OIDC_ISSUER), or nobody could sign in');
    }
    return { oidc: null, passwordLogin };
  }
  let issuer: URL;
  try {
    issuer = new URL(issuerRaw);
  } catch {
    throw new ConfigError('OPSLAB_OIDC_ISSUER', issuerRaw, 'an absolute URL such as https://login.example.com/realms/staff');
  }
  if (issuer.search || issuer.hash || issuer.username || issuer.password) {
    throw new ConfigError('OPSLAB_OIDC_ISSUER', issuerRaw, 'an issuer URL without query, fragment or credentials');
  }
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer.hostname))) {
    throw new ConfigError('OPSLAB_OIDC_ISSUER', issuerRaw, 'an https:// URL (http:// only on this machine\'s loopback)');
  }
  const required = (name: string, what: string): string => {
    const value = str(env, name, '');
    if (value === '') throw new ConfigError(name, value, `${what} (required with OPSLAB_OIDC_ISSUER)`);
    return value;
  };
  const clientId = required('OPSLAB_OIDC_CLIENT_ID', 'the client id registered for opslab at the provider');
  const clientSecret = required('OPSLAB_OIDC_CLIENT_SECRET', 'the client secret the provider gave for that client');
  const domainsRaw = required(
    'OPSLAB_OIDC_ALLOWED_DOMAINS',
    'the email domains allowed to sign in, comma-separated (such as example.com), or * for any',
  );
  let allowedDomains: string[] | '*';
  if (domainsRaw === '*') allowedDomains = '*';
  else {
    allowedDomains = list(env, 'OPSLAB_OIDC_ALLOWED_DOMAINS').map((d) => d.toLowerCase().replace(/^@/, ''));
    for (const domain of allowedDomains) {
      if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)) {
        throw new ConfigError('OPSLAB_OIDC_ALLOWED_DOMAINS', domainsRaw, `email domains such as example.com, comma-separated, or *; "${domain}" is not one`);
      }
    }
    if (allowedDomains.length === 0) throw new ConfigError('OPSLAB_OIDC_ALLOWED_DOMAINS', domainsRaw, 'at least one email domain, or *');
  }
  const scopes = str(env, 'OPSLAB_OIDC_SCOPES', 'openid email profile').split(/[\s,]+/).filter(Boolean);
  if (!scopes.includes('openid') || scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
    throw new ConfigError('OPSLAB_OIDC_SCOPES', scopes.join(' '), 'space-separated scopes including openid, such as "openid email profile groups"');
  }
  const roleClaim = str(env, 'OPSLAB_OIDC_ROLE_CLAIM', 'groups');
  if (!/^[\w.:/-]{1,100}$/.test(roleClaim)) throw new ConfigError('OPSLAB_OIDC_ROLE_CLAIM', roleClaim, 'a claim name such as groups or roles');
  const adminGroups = list(env, 'OPSLAB_OIDC_ADMIN_GROUPS');
  const interviewerGroups = list(env, 'OPSLAB_OIDC_INTERVIEWER_GROUPS');
  const defaultRoleRaw = str(env, 'OPSLAB_OIDC_DEFAULT_ROLE', 'none').toLowerCase();
  if (defaultRoleRaw !== 'none' && defaultRoleRaw !== 'interviewer') {
    throw new ConfigError('OPSLAB_OIDC_DEFAULT_ROLE', defaultRoleRaw, 'none (users in neither group are refused) or interviewer (never admin)');
  }
  const defaultRole = defaultRoleRaw === 'interviewer' ? 'interviewer' : null;
  if (adminGroups.length === 0 && interviewerGroups.length === 0 && defaultRole === null) {
    throw new ConfigError(
      'OPSLAB_OIDC_ADMIN_GROUPS',
      '',
      'a group for admins or interviewers (OPSLAB_OIDC_ADMIN_GROUPS, OPSLAB_OIDC_INTERVIEWER_GROUPS), or OPSLAB_OIDC_DEFAULT_ROLE=interviewer: otherwise nobody could sign in through the provider',
    );
  }
  const verifiedSwitch = str(env, 'OPSLAB_OIDC_REQUIRE_VERIFIED_EMAIL', 'on').toLowerCase();
  if (verifiedSwitch !== 'on' && verifiedSwitch !== 'off') {
    throw new ConfigError('OPSLAB_OIDC_REQUIRE_VERIFIED_EMAIL', verifiedSwitch, 'on or off');
  }
  const name = str(env, 'OPSLAB_OIDC_NAME', issuer.hostname);
  if (name.length > 60 || /[\u0000-\u001f<>]/.test(name)) throw new ConfigError('OPSLAB_OIDC_NAME', name, 'a short name such as "Acme SSO" (at most 60 characters)');
  return {
    oidc: {
      // Exactly as written: it must equal the `issuer` of the provider's discovery document.
      issuer: issuerRaw,
      clientId,
      clientSecret,
      name,
      scopes: [...new Set(scopes)],
      allowedDomains,
      requireVerifiedEmail: verifiedSwitch === 'on',
      roleClaim,
      adminGroups,
      interviewerGroups,
      defaultRole,
    },
    passwordLogin,
  };
}
