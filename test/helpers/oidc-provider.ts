// A real OpenID provider for tests: oidc-provider (a certified implementation) on a loopback port, with its own
// RSA signing key, clients the test registers, accounts the test defines, and a small sign-in page (the
// "interaction") that asks which account signs in; the test fills it in, over HTTP or in the browser.
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from './server.js';
import Provider, { type Adapter, type AdapterPayload, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';

/** What the provider knows about a person: the claims it releases (scopes email, profile, groups). */
export interface TestAccount {
  email: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface TestProvider {
  issuer: string;
  provider: Provider;
  /** Accounts by their subject (`sub`). */
  accounts: Map<string, TestAccount>;
  /** Registers (or replaces) a client; clients can be added after the provider started. */
  addClient(client: { client_id: string; client_secret: string; redirect_uris: string[] }): void;
  /**
   * Serves the requests of one client as if they came from another: the authorization request's `client_id` and
   * the token request's client credentials are swapped before the provider sees them. Every part of the answer is
   * then genuine (signed with the provider's key, right issuer, nonce, expiry) except the ID token's audience, as
   * from a provider that issues a token for the wrong client. null: off.
   */
  substitute: { from: string; to: { client_id: string; client_secret: string } } | null;
  close(): Promise<void>;
}

/** A small in-memory store for the provider's models (sessions, grants, codes, tokens, and the test's clients). */
function memoryAdapter(store: Map<string, { payload: AdapterPayload; expiresAt: number }>) {
  return class MemoryAdapter implements Adapter {
    constructor(readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
      if (payload.uid) store.set(`uid:${payload.uid}`, { payload: { id } as AdapterPayload, expiresAt: Infinity });
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      const entry = store.get(this.key(id));
      if (!entry || entry.expiresAt <= Date.now()) return undefined;
      return entry.payload;
    }
    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const ref = store.get(`uid:${uid}`);
      return ref ? this.find(String((ref.payload as { id: string }).id)) : undefined;
    }
    async findByUserCode(): Promise<AdapterPayload | undefined> {
      return undefined;
    }
    async consume(id: string): Promise<void> {
      const entry = store.get(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, entry] of store) if (entry.payload.grantId === grantId) store.delete(key);
    }
  };
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Starts a provider on 127.0.0.1 (named `localhost` in its issuer with `host`). `idTokenTtlSeconds` is the ID tokens' lifetime (default 60 s, so a test can
 * move the relying party's clock past it without waiting).
 */
export async function startTestProvider(opts: { idTokenTtlSeconds?: number; host?: 'localhost' } = {}): Promise<TestProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // `localhost` makes the provider another site than an opslab on 127.0.0.1, as a real provider is.
  const issuer = `http://${opts.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const accounts = new Map<string, TestAccount>();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(6).toString('hex'), use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(store),
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: {
      IdToken: opts.idTokenTtlSeconds ?? 60,
      AccessToken: 600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: account.email,
            email_verified: account.email_verified ?? true,
            ...(account.name ? { name: account.name } : {}),
            ...(account.groups ? { groups: account.groups } : {}),
          };
        },
      };
    },
  });

  const result: TestProvider = {
    issuer,
    provider,
    accounts,
    substitute: null,
    addClient(client) {
      const metadata: ClientMetadata = {
        ...client,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      };
      store.set(`Client:${client.client_id}`, { payload: metadata as unknown as AdapterPayload, expiresAt: Infinity });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  // The swap of `substitute`, before the provider reads the request.
  provider.use(async (ctx, next) => {
    const swap = result.substitute;
    if (swap && ctx.path === '/auth' && ctx.query.client_id === swap.from) {
      ctx.querystring = new URLSearchParams({ ...(ctx.query as Record<string, string>), client_id: swap.to.client_id }).toString();
    }
    if (swap && ctx.path === '/token' && ctx.method === 'POST') {
      const basic = Buffer.from(
        `${encodeURIComponent(swap.to.client_id)}:${encodeURIComponent(swap.to.client_secret)}`,
      ).toString('base64');
      const presented = Buffer.from((ctx.get('authorization') || 'Basic ').slice(6), 'base64').toString();
      if (decodeURIComponent(presented.split(':')[0] ?? '') === swap.from) ctx.req.headers.authorization = `Basic ${basic}`;
    }
    await next();
  });

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(url.pathname);
    if (!match) {
      void callback(req, res);
      return;
    }
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (!match[2] && req.method === 'GET') {
          // The sign-in page: which account signs in.
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(
            page(
              'Test provider sign-in',
              `<h1>Test provider</h1><form method="post" action="/interaction/${escapeHtml(details.uid)}/login">` +
                `<label>Account <input name="account" id="account" autocomplete="off"></label>` +
                `<button type="submit" id="provider-sign-in">Continue</button></form>`,
            ),
          );
          return;
        }
        if (match[2] && req.method === 'POST') {
          const account = (await readForm(req)).get('account') ?? '';
          if (!accounts.has(account)) {
            res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
            res.end(page('Unknown account', `<p id="unknown">No account ${escapeHtml(account)}.</p>`));
            return;
          }
          const clientId = String(details.params.client_id);
          const grant = new provider.Grant({ accountId: account, clientId });
          grant.addOIDCScope(String(details.params.scope ?? 'openid'));
          const grantId = await grant.save();
          await provider.interactionFinished(
            req,
            res,
            { login: { accountId: account }, consent: { grantId } },
            { mergeWithLastSubmission: false },
          );
          return;
        }
        res.writeHead(405).end();
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`interaction failed: ${(err as Error).message}`);
      }
    })();
  });
  return result;
}

export const OPSLAB_CLIENT = { client_id: 'opslab', client_secret: 'opslab-test-secret-0123456789abcdef' };

/**
 * An opslab server (startTestServer: real HTTP on a loopback port, the real engine, its own SQLite file) whose single
 * sign-on goes to `idp`, with `opslab` registered there for its callback.
 */
export async function startSsoServer(
  idp: TestProvider,
  env: Record<string, string> = {},
  /** Where the server's log lines go (JSON, level info); none by default. */
  log?: { write(line: string): void },
): Promise<TestServer> {
  const server = await startTestServer({
    env: {
      OPSLAB_OIDC_ISSUER: idp.issuer,
      OPSLAB_OIDC_CLIENT_ID: OPSLAB_CLIENT.client_id,
      OPSLAB_OIDC_CLIENT_SECRET: OPSLAB_CLIENT.client_secret,
      OPSLAB_OIDC_NAME: 'Test SSO',
      OPSLAB_OIDC_SCOPES: 'openid email profile groups',
      OPSLAB_OIDC_ALLOWED_DOMAINS: 'example.test',
      OPSLAB_OIDC_ADMIN_GROUPS: 'opslab-admins',
      OPSLAB_OIDC_INTERVIEWER_GROUPS: 'opslab-interviewers,hiring',
      ...env,
    },
    ...(log ? { log } : {}),
  });
  idp.addClient({ ...OPSLAB_CLIENT, redirect_uris: [`${server.url}/api/auth/oidc/callback`] });
  return server;
}
