#!/usr/bin/env node
// Container health check: exit 0 when GET /api/health on this machine answers 200.
// Uses OPSLAB_HOST / OPSLAB_PORT like the server; a wildcard host is checked on loopback.
const host = process.env.OPSLAB_HOST || '127.0.0.1';
const port = process.env.OPSLAB_PORT || '8080';
const target = ['0.0.0.0', '::', '[::]', ''].includes(host) ? '127.0.0.1' : host;
const url = `http://${target.includes(':') && !target.startsWith('[') ? `[${target}]` : target}:${port}/api/health`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
