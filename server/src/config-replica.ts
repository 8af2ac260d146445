// This server among the replicas that share one PostgreSQL database: its id, where the others reach it, and how long
// an attempt stays its own without a renewal (docs/operations.md, "Replicas").
import { ConfigError, int, str, type Env } from './config-env.js';

export interface ReplicaConfig {
  /** OPSLAB_REPLICA_ID; null: the id kept in the data directory (made at the first start). */
  id: string | null;
  /** OPSLAB_INTERNAL_URL: where the other replicas reach this one (terminal connections are passed to an attempt's owner). */
  internalUrl: string;
  /** OPSLAB_LEASE_SECONDS: how long an attempt stays its owner's without a renewal; another replica takes it over after. */
  leaseMs: number;
}

export function replicaConfig(env: Env, host: string, port: number): ReplicaConfig {
  const id = str(env, 'OPSLAB_REPLICA_ID', '');
  if (id !== '' && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) {
    throw new ConfigError('OPSLAB_REPLICA_ID', id, 'up to 63 lowercase letters, digits and dashes, starting with a letter or digit');
  }
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const fallback = `http://${wildcard ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;
  const internalUrl = str(env, 'OPSLAB_INTERNAL_URL', fallback).replace(/\/+$/, '');
  let parsed: URL | null = null;
  try {
    parsed = new URL(internalUrl);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.pathname !== '/' || parsed.search !== '') {
    throw new ConfigError('OPSLAB_INTERNAL_URL', internalUrl, 'an http(s) origin the other replicas reach, such as http://10.0.0.5:8080');
  }
  return { id: id === '' ? null : id, internalUrl, leaseMs: int(env, 'OPSLAB_LEASE_SECONDS', 10, 3, 600) * 1000 };
}
