import { ApiKey, Role } from '@app/config';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';

/** Who is calling, as the API key (or its absence) says. */
export type ClientIdentity =
  | { kind: 'key'; name: string; role: Role }
  | { kind: 'anonymous' }
  /** A key was sent but matches none: always 401, never treated as anonymous. */
  | { kind: 'invalid' };

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The key a request presents: `X-API-Key`, or `Authorization: Bearer <key>`. */
export function presentedKey(req: Request): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  const auth = req.headers.authorization;
  const bearer = auth && /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return bearer ? bearer[1] : undefined;
}

/**
 * Resolves API keys in constant time: every configured key's digest is compared with
 * timingSafeEqual, without stopping at a match, so timing says nothing about which key (or how
 * much of one) matched.
 */
export class KeyRing {
  private readonly entries: { digest: Buffer; name: string; role: Role }[];

  constructor(keys: ApiKey[]) {
    this.entries = keys.map((k) => ({ digest: digest(k.key), name: k.name, role: k.role }));
  }

  identify(req: Request): ClientIdentity {
    const key = presentedKey(req);
    if (key === undefined) return { kind: 'anonymous' };
    const presented = digest(key);
    let found: { name: string; role: Role } | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented) && !found) found = entry;
    }
    return found ? { kind: 'key', name: found.name, role: found.role } : { kind: 'invalid' };
  }
}

const IDENTITY = Symbol('clientIdentity');
type WithIdentity = Request & { [IDENTITY]?: ClientIdentity };

export function setIdentity(req: Request, identity: ClientIdentity): void {
  (req as WithIdentity)[IDENTITY] = identity;
}

export function identityOf(req: Request): ClientIdentity {
  return (req as WithIdentity)[IDENTITY] ?? { kind: 'anonymous' };
}

/**
 * The client a budget or an idempotency key belongs to: the key's name, else the IP address
 * (req.ip, which honours TRUST_PROXY and ignores X-Forwarded-For when it is off).
 */
export function clientScope(req: Request): string {
  const identity = identityOf(req);
  return identity.kind === 'key' ? `key:${identity.name}` : `ip:${req.ip ?? 'unknown'}`;
}
