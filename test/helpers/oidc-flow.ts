// Single sign-on driven by hand over HTTP, the way a browser does it: fetch without automatic redirects, a cookie
// jar that keeps each origin's cookies with their paths, the provider's sign-in form filled in.

interface StoredCookie {
  origin: string;
  name: string;
  value: string;
  path: string;
}

/** One browser's cookies. */
export class CookieJar {
  private cookies: StoredCookie[] = [];

  store(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = '/';
      let gone = value === '';
      for (const attr of attrs) {
        const [k, v] = attr.split('=');
        if (k!.toLowerCase() === 'path' && v) path = v;
        if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) gone = true;
        if (k!.toLowerCase() === 'expires' && v && Date.parse(v) <= Date.now()) gone = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.origin === url.origin && c.name === name && c.path === path));
      if (!gone) this.cookies.push({ origin: url.origin, name, value, path });
    }
  }

  header(url: URL): string {
    return this.cookies
      .filter((c) => c.origin === url.origin && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  get(origin: string, name: string): string | undefined {
    return this.cookies.find((c) => c.origin === origin && c.name === name)?.value;
  }
}

export interface Hop {
  status: number;
  location: string | null;
  body: string;
  /** The Set-Cookie lines of this answer. */
  setCookies: string[];
}

/** One request, no redirect followed, cookies sent and kept. */
export async function hop(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Hop> {
  const target = new URL(url);
  const cookie = jar.header(target);
  const res = await fetch(target, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
  });
  jar.store(target, res);
  const location = res.headers.get('location');
  return {
    status: res.status,
    location: location ? new URL(location, target).href : null,
    body: await res.text(),
    setCookies: res.headers.getSetCookie(),
  };
}

/**
 * Begins a sign-in at opslab and signs in at the provider as `account`; returns the URL the provider sends the
 * browser back to (opslab's callback, not visited yet).
 */
export async function signInAtProvider(
  jar: CookieJar,
  opslabUrl: string,
  issuer: string,
  account: string,
  next = '/manage',
): Promise<string> {
  let step = await hop(jar, `${opslabUrl}/api/auth/oidc/start?next=${encodeURIComponent(next)}`);
  if (step.status !== 302 || !step.location?.startsWith(issuer)) {
    throw new Error(`start did not lead to the provider: ${step.status} ${step.location}`);
  }
  for (let i = 0; i < 10; i++) {
    const url = step.location!;
    if (!url.startsWith(issuer)) return url;
    step = await hop(jar, url);
    if (step.status === 200 && /name="account"/.test(step.body)) {
      const action = /action="([^"]+)"/.exec(step.body)![1]!;
      step = await hop(jar, new URL(action, issuer).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ account }).toString(),
      });
    }
    if (!step.location) throw new Error(`the provider stopped at ${url}: ${step.status} ${step.body.slice(0, 300)}`);
  }
  throw new Error('too many redirects at the provider');
}

/** Visits the callback: where opslab sends the browser and the session cookie this answer set, if any. */
export async function finishAtOpslab(jar: CookieJar, callbackUrl: string): Promise<{ location: string; session: string | undefined }> {
  const step = await hop(jar, callbackUrl);
  if (step.status !== 302 || !step.location) throw new Error(`callback answered ${step.status}: ${step.body.slice(0, 300)}`);
  const origin = new URL(callbackUrl).origin;
  const line = step.setCookies.find((l) => /^opslab_session=[^;]/.test(l));
  return { location: step.location.slice(origin.length), session: line ? line.slice('opslab_session='.length).split(';')[0] : undefined };
}
