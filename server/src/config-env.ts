// Reading one environment variable as a typed value: the primitives every part of the configuration uses. A bad
// value stops the server with a ConfigError naming the variable, the value and what was expected.

export class ConfigError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`Invalid configuration: ${variable}=${JSON.stringify(value)}: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** The trimmed value, or the fallback when unset or blank. */
export function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v.trim() === '' ? fallback : v.trim();
}

export function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `an integer from ${min} to ${max}`);
  }
  return value;
}

export function num(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `a number from ${min} to ${max}`);
  }
  return value;
}

/** A comma-separated list, items trimmed, empty items dropped. */
export const list = (env: Env, name: string): string[] =>
  str(env, name, '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/**
 * A PostgreSQL connection URL (postgres:// or postgresql://, with a host and a database), or null when unset. A bad
 * value is named without its password.
 */
export function databaseUrl(env: Env, name: string): string | null {
  const raw = str(env, name, '');
  if (raw === '') return null;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    url = null;
  }
  const shown = url?.password ? raw.replace(`:${url.password}@`, ':***@') : raw.replace(/:[^:@/]*@/, ':***@');
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || !url.hostname || url.pathname.length < 2) {
    throw new ConfigError(name, shown, 'a PostgreSQL URL such as postgres://opslab:secret@db.internal:5432/opslab');
  }
  return raw;
}
