export interface StartedAttempt {
  attempt: { id: string; state: string; deadline: string; sandbox: string; endReason: string | null };
  token: string;
}

export async function startAttempt(baseUrl: string, exerciseId = 'shell-warmup'): Promise<StartedAttempt> {
  const res = await fetch(`${baseUrl}/api/attempts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ exerciseId }),
  });
  if (res.status !== 201) throw new Error(`start failed: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as StartedAttempt;
}

/** One HTTP request to the server: the status, the body parsed as JSON (null when it is not JSON), its text and headers. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON (recordings) */
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/** A request with an attempt's (or any) Bearer token. */
export function api(baseUrl: string, method: string, path: string, token?: string, body?: unknown) {
  return request(baseUrl, method, path, token ? { authorization: `Bearer ${token}` } : {}, body);
}

/**
 * The attempt's own credential that a start (an invite's claim, or practice) set as the browser's HttpOnly cookie
 * `opslab_attempt_<id>`; throws when the answer set none.
 */
export function attemptCookieToken(headers: Headers, attemptId: string): string {
  const prefix = `opslab_attempt_${attemptId}=`;
  const line = headers.getSetCookie().find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`no attempt cookie for ${attemptId} in ${JSON.stringify(headers.getSetCookie())}`);
  return line.slice(prefix.length).split(';')[0]!;
}
