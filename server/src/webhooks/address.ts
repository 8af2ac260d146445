import dns from 'node:dns';
import net from 'node:net';

/**
 * Where webhooks may go. Unless the operator allows private addresses (OPSLAB_WEBHOOK_ALLOW_PRIVATE), a URL whose
 * host is, or resolves to, any address that is not public unicast is refused: loopback, link-local (with the cloud
 * metadata address 169.254.169.254), private (RFC 1918, fc00::/7, 100.64.0.0/10), unspecified, multicast, broadcast
 * and reserved ranges, and IPv6 forms that carry such an IPv4 address (::ffff:a.b.c.d, 64:ff9b::/96, 6to4). The
 * check runs at registration and again at every delivery, which then connects to the very address it checked.
 */

/** Why an IPv4 address (four numbers) is refused, or null when it is public. */
function v4Reason(b: number[]): string | null {
  const [a, b2] = [b[0]!, b[1]!];
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b2 >= 16 && b2 <= 31) || (a === 192 && b2 === 168)) return 'private';
  if (a === 100 && b2 >= 64 && b2 <= 127) return 'private (shared address space)';
  if (a === 169 && b2 === 254) return 'link-local';
  if (a === 192 && b2 === 0 && b[2] === 0) return 'reserved';
  if (a === 198 && (b2 === 18 || b2 === 19)) return 'reserved';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved';
  return null;
}

/** The eight 16-bit groups of an IPv6 address, or null. */
function v6Groups(address: string): number[] | null {
  let text = address.split('%')[0]!;
  let tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const bytes = dotted[2]!.split('.').map(Number);
    tail = [(bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!];
    text = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...Array<number>(fill).fill(0), ...rest, ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** Why an address (IPv4 or IPv6 text) may not be a webhook's destination, or null when it may. */
export function refusedAddressReason(address: string): string | null {
  const family = net.isIP(address);
  if (family === 4) return v4Reason(address.split('.').map(Number));
  if (family !== 6) return 'not an IP address';
  const g = v6Groups(address);
  if (!g) return 'not an IP address';
  const embedded = (hi: number, lo: number) => v4Reason([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96): the IPv4 address decides.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return embedded(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embedded(g[6]!, g[7]!);
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!); // 6to4
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'private (site-local)';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private (unique local)';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'reserved (documentation)';
  return null;
}

export class WebhookAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookAddressError';
  }
}

export interface CheckedTarget {
  url: URL;
  /** The host name as the URL has it (for the Host header and TLS SNI), without IPv6 brackets. */
  hostname: string;
  /** The address to connect to: checked, and the only one used for this request. */
  address: string;
  family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: Lookup = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** Parses a webhook URL: http or https only, no credentials in it, a host. Throws WebhookAddressError. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookAddressError('The URL is not a valid absolute URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookAddressError('Only http:// and https:// URLs are allowed.');
  if (url.username || url.password) throw new WebhookAddressError('The URL may not carry a user name or password; use the signing secret.');
  if (!url.hostname) throw new WebhookAddressError('The URL has no host.');
  url.hash = '';
  return url;
}

/**
 * Resolves the URL's host and checks every address it has (one refused address refuses the URL: a name that
 * answers with a public and a private address could be pointed at the private one). Returns the address to connect
 * to. With `allowPrivate`, every address is accepted (an operator's own network).
 */
export async function checkTarget(raw: string | URL, opts: { allowPrivate: boolean; lookup?: Lookup }): Promise<CheckedTarget> {
  const url = typeof raw === 'string' ? parseWebhookUrl(raw) : raw;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  if (net.isIP(hostname)) {
    addresses = [{ address: hostname, family: net.isIP(hostname) }];
  } else {
    try {
      addresses = await (opts.lookup ?? systemLookup)(hostname);
    } catch (err) {
      throw new WebhookAddressError(`The host ${hostname} could not be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    if (addresses.length === 0) throw new WebhookAddressError(`The host ${hostname} has no address.`);
  }
  if (!opts.allowPrivate) {
    for (const a of addresses) {
      const reason = refusedAddressReason(a.address);
      if (reason) {
        throw new WebhookAddressError(
          `The host ${hostname} resolves to ${a.address}, a ${reason} address; webhooks go to public addresses only ` +
            '(an operator may allow private ones with OPSLAB_WEBHOOK_ALLOW_PRIVATE=1).',
        );
      }
    }
  }
  const first = addresses[0]!;
  return { url, hostname, address: first.address, family: first.family === 6 ? 6 : 4 };
}
