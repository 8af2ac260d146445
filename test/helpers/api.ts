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

export async function api(
  baseUrl: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
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
