import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import type { OidcConfig } from '../config.js';
import type { Sql } from '../store/sql.js';
import { OidcLoginsRepo } from '../store/oidc-logins-repo.js';
import { LoginLimiter } from './login-limiter.js';
import type { SsoFailure } from '../../../contract/auth.js';
import { resolveSsoAccount, ssoIdentity, SsoRefusal } from './oidc-accounts.js';
import type { AuthService, SignedIn } from './service.js';

export { SsoRefusal } from './oidc-accounts.js';

/** A sign-in that went to the provider must come back within this time. */
export const OIDC_LOGIN_MS = 10 * 60_000;
/**
 * The most sign-ins begun and not finished at once (each lives 10 minutes): anyone can begin one, so this bounds
 * what a flood of starts from many addresses can store. Past it a start is refused.
 */
export const OIDC_MAX_PENDING = 10_000;
/** Sign-ins one client address may begin in 10 minutes (behind a trusted proxy, the address it forwards). */
export const OIDC_STARTS_PER_CLIENT = 20;
const OIDC_STARTS_WINDOW_MS = 10 * 60_000;
/** Requests to the provider (discovery, keys, token, userinfo) give up after this long. */
const PROVIDER_TIMEOUT_SECONDS = 10;

export const REDIRECT_PATH = '/api/auth/oidc/callback';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export interface OidcServiceOptions {
  config: OidcConfig;
  sql: Sql;
  auth: AuthService;
  /** The address users open (read at each sign-in: tests learn their port after the service is made). */
  publicUrl: () => string;
  /** The clock (ms since the epoch); tests move it to age a sign-in or an ID token. */
  now?: () => number;
}

/** A sign-in just begun: where to send the browser, and the cookie that binds the sign-in to it. */
export interface OidcStart {
  authorizationUrl: string;
  browserKey: string;
  maxAgeSeconds: number;
}

export interface OidcSignedIn extends SignedIn {
  next: string;
}

/**
 * Staff sign-in through an OpenID Connect provider: the authorization code flow with PKCE (S256), a state that
 * is single-use, expires and is bound to the browser that began the sign-in (an HttpOnly cookie whose hash is
 * kept with it), and a nonce. openid-client validates the provider's answer: the ID token's signature against
 * the provider's published keys, its issuer, audience, expiry and nonce. What the token says is then checked
 * against the settings (verified email, allowed domain, group -> role) in oidc-accounts.ts.
 */
export class OidcService {
  readonly logins: OidcLoginsRepo;
  now: () => number;
  /** Replaceable for tests. */
  maxPending = OIDC_MAX_PENDING;
  /** Sign-ins begun per client address; replaceable for tests. */
  startLimiter = new LoginLimiter(OIDC_STARTS_PER_CLIENT, OIDC_STARTS_WINDOW_MS, () => this.now());
  private discovered: Promise<client.Configuration> | null = null;
  private jwksCache: client.ExportedJWKSCache | undefined;

  constructor(private readonly opts: OidcServiceOptions) {
    this.logins = new OidcLoginsRepo(opts.sql);
    this.now = opts.now ?? Date.now;
  }

  get name(): string {
    return this.opts.config.name;
  }

  redirectUri(): string {
    return `${this.opts.publicUrl()}${REDIRECT_PATH}`;
  }

  /**
   * Begins a sign-in for the browser at `address`: stores its state, nonce and PKCE verifier and says
   * where the browser goes. Refused past the client's allowance of starts, or when too many are under way.
   */
  async begin(next: string, address: string): Promise<OidcStart> {
    if (this.startLimiter.retryAfterSeconds([address]) > 0) throw new SsoRefusal('rate');
    this.startLimiter.fail([address]);
    const config = await this.configuration();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const browserKey = randomBytes(32).toString('base64url');
    const now = this.now();
    const stored = await this.logins.insertBounded(
      {
        stateHash: sha256(state),
        browserHash: sha256(browserKey),
        nonce,
        codeVerifier,
        next,
        createdAt: now,
        expiresAt: now + OIDC_LOGIN_MS,
      },
      now,
      this.maxPending,
    );
    if (!stored) throw new SsoRefusal('rate');
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(),
      scope: this.opts.config.scopes.join(' '),
      response_type: 'code',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { authorizationUrl: url.href, browserKey, maxAgeSeconds: OIDC_LOGIN_MS / 1000 };
  }

  /**
   * Finishes a sign-in from the provider's redirect (its query string) and the browser's binding cookie. The
   * state is taken before anything else is looked at, so it never works twice, whatever happens next. A refusal
   * of a begun sign-in is audited (`login-failed`, with the reason and the check, never a token or a code).
   */
  async finish(query: string, browserKey: string | undefined, ip: string): Promise<OidcSignedIn> {
    const params = new URLSearchParams(query);
    const fail = async (reason: SsoFailure, detail: Record<string, unknown> = {}) => {
      await this.opts.auth.audit({ userId: null, action: 'login-failed', detail: { method: 'sso', reason, ip, ...detail } });
      return new SsoRefusal(reason);
    };
    const state = params.get('state');
    const login = state ? await this.logins.take(sha256(state)) : null;
    // Not audited: anyone can send these, as often as they like (the route logs them).
    if (!login) throw new SsoRefusal('state');
    if (!browserKey || !sameHash(sha256(browserKey), login.browserHash)) throw await fail('state', { check: 'another browser' });
    if (login.expiresAt <= this.now()) throw await fail('state', { check: 'expired' });

    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch {
      throw await fail('unavailable');
    }
    config = this.atCurrentTime(config);
    const callback = new URL(this.redirectUri());
    callback.search = params.toString();
    try {
      tokens = await client.authorizationCodeGrant(
        config,
        callback,
        { pkceCodeVerifier: login.codeVerifier, expectedState: state!, expectedNonce: login.nonce, idTokenExpected: true },
        { redirect_uri: this.redirectUri() },
      );
    } catch (err) {
      throw await fail(...classify(err));
    } finally {
      this.jwksCache = client.getJwksCache(config) ?? this.jwksCache;
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw await fail('token', { check: 'no ID token' });
    let claims: Record<string, unknown> = { ...idClaims };
    // Providers that follow the core spec strictly put profile claims in the userinfo answer, not the ID token.
    const role = this.opts.config.roleClaim;
    if (claims.email === undefined || claims.email_verified === undefined || claims[role] === undefined) {
      try {
        const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...userinfo, ...claims };
      } catch (err) {
        throw await fail(...classify(err));
      }
    }
    const identity = ssoIdentity(this.opts.config, claims);
    if (typeof identity === 'string') {
      throw await fail(identity, { subject: idClaims.sub, email: typeof claims.email === 'string' ? claims.email : null });
    }
    const account = await resolveSsoAccount(this.opts.auth, { ...identity, issuer: this.opts.config.issuer });
    if (typeof account === 'string') throw await fail(account, { subject: identity.subject, email: identity.email });
    const signedIn = await this.opts.auth.signInAs(account, { method: 'sso', ip });
    return { ...signedIn, next: login.next };
  }

  /** The provider's metadata, discovered at the first sign-in (so a provider that is down does not stop opslab). */
  private configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const { issuer, clientId, clientSecret } = this.opts.config;
      const insecure = new URL(issuer).protocol === 'http:';
      this.discovered = client
        .discovery(new URL(issuer), clientId, { client_secret: clientSecret }, client.ClientSecretBasic(clientSecret), {
          timeout: PROVIDER_TIMEOUT_SECONDS,
          // config.ts accepts http: only for an issuer on this machine's loopback.
          ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
        })
        .catch((err: unknown) => {
          this.discovered = null;
          throw err;
        });
    }
    return this.discovered;
  }

  /**
   * The configuration for one sign-in, with the service's clock (equal to the machine's unless a test moved it)
   * and the provider's keys fetched so far.
   */
  private atCurrentTime(base: client.Configuration): client.Configuration {
    const { clientId, clientSecret, issuer } = this.opts.config;
    const skewSeconds = Math.round((this.now() - Date.now()) / 1000);
    const config = new client.Configuration(
      base.serverMetadata(),
      clientId,
      { client_secret: clientSecret, [client.clockSkew]: skewSeconds },
      client.ClientSecretBasic(clientSecret),
    );
    config.timeout = PROVIDER_TIMEOUT_SECONDS;
    if (new URL(issuer).protocol === 'http:') client.allowInsecureRequests(config);
    if (this.jwksCache) client.setJwksCache(config, this.jwksCache);
    return config;
  }
}

/** What went wrong with the provider's answer, as a reason the login page can say and a detail for the audit log. */
function classify(err: unknown): [SsoFailure, Record<string, unknown>] {
  if (err instanceof client.AuthorizationResponseError) return ['provider', { error: err.error }];
  if (err instanceof client.ResponseBodyError) return ['provider', { error: err.error, status: err.status }];
  if (err instanceof client.ClientError) {
    const cause = (err.cause ?? {}) as { message?: unknown; cause?: { claim?: unknown } };
    const claim = typeof cause.cause?.claim === 'string' ? cause.cause.claim : undefined;
    const message = typeof cause.message === 'string' ? cause.message : err.message;
    const check = { code: err.code ?? 'unknown', ...(claim ? { claim } : {}), message };
    if (err.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' && claim === 'exp') return ['expired', check];
    const unreachable = ['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_TIMEOUT', 'OAUTH_ABORT'];
    if (unreachable.includes(err.code ?? '') || err.cause instanceof TypeError) return ['unavailable', check];
    return ['token', check];
  }
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError' || err instanceof TypeError)) {
    return ['unavailable', { error: err.name }];
  }
  return ['token', { error: err instanceof Error ? err.name : 'unknown' }];
}
