import { AppError, detachedFromRequest, ValidationError } from '@app/common';
import { IdempotencyRepository, StoredResponse } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { clientScope } from '../security/client-identity';

/** Keys are kept 24 h; after that the same key is a new request. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** Response headers a replay repeats (besides status and body). */
const REPLAYED_HEADERS = ['location', 'preference-applied'];

export type Begin =
  { kind: 'new' } | { kind: 'completed'; fingerprint: string | null; response: StoredResponse };

/** sha256 of the parts that identify a request, in order. */
export function fingerprint(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p).update('\0');
  return hash.digest('hex');
}

/**
 * Idempotency-Key on POST /api/v1/data and /api/v1/data/upload: the first request with a key runs
 * and its 2xx response is stored for 24 h; the same key with the same request replays it
 * (Idempotent-Replayed: true); with a different request, 422 IDEMPOTENCY_KEY_REUSED; while the
 * first still runs, 409 IDEMPOTENCY_IN_PROGRESS. Keys are scoped per client (API key name, else
 * IP). A first request that fails (any error) frees its key, so it can be retried.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger('Idempotency');
  private lastPurge = 0;

  constructor(private readonly keys: IdempotencyRepository) {}

  /** The request's Idempotency-Key (validated), or undefined when it sent none. */
  keyOf(req: Request): string | undefined {
    const raw = req.headers['idempotency-key'];
    if (raw === undefined) return undefined;
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new ValidationError('Idempotency-Key must be 1-255 visible ASCII characters.', [
        { field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
      ]);
    }
    return key;
  }

  /**
   * Claims the key, or says what the first request with it left. `print` is this request's
   * fingerprint when it is known up front (JSON), null when only known after reading (uploads).
   */
  async begin(req: Request, key: string, print: string | null): Promise<Begin> {
    const scope = clientScope(req);
    this.purgeNowAndThen();
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.keys.claim(scope, key, print, IDEMPOTENCY_TTL_SECONDS)) return { kind: 'new' };
      const existing = await this.keys.find(scope, key);
      if (!existing) continue; // released or expired in between: claim again
      if (existing.status === 'in_progress') {
        throw new AppError(
          'IDEMPOTENCY_IN_PROGRESS',
          'A request with this Idempotency-Key is still being processed; retry when it has finished.',
          { headers: { 'Retry-After': '1' } },
        );
      }
      if (print !== null) this.check(existing.fingerprint, print);
      return { kind: 'completed', fingerprint: existing.fingerprint, response: existing.response! };
    }
    throw new AppError(
      'IDEMPOTENCY_IN_PROGRESS',
      'A request with this Idempotency-Key is changing state; retry.',
      { headers: { 'Retry-After': '1' } },
    );
  }

  /** 422 unless the stored request and this one are the same. */
  check(stored: string | null, print: string): void {
    if (stored !== print) {
      throw new AppError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used for a different request (method, path, parameters or body). Use a new key for a new request.',
      );
    }
  }

  /** Sends the stored response again: same status, headers and body, marked as a replay. */
  replay(res: Response, stored: StoredResponse): unknown {
    res.status(stored.status);
    for (const [name, value] of Object.entries(stored.headers)) res.setHeader(name, value);
    res.setHeader('Idempotent-Replayed', 'true');
    return JSON.parse(stored.body) as unknown;
  }

  /** The first request succeeded: store its response for replays. */
  async complete(
    req: Request,
    key: string,
    print: string,
    res: Response,
    body: unknown,
  ): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = res.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    await detachedFromRequest(() =>
      this.keys.complete(clientScope(req), key, print, {
        status: res.statusCode,
        headers,
        body: JSON.stringify(body),
      }),
    );
  }

  /** The first request failed: free the key (recorded even past the request's time budget). */
  async release(req: Request, key: string): Promise<void> {
    await detachedFromRequest(() => this.keys.release(clientScope(req), key)).catch(
      (err: unknown) => this.logger.error({ err }, 'could not release an idempotency key'),
    );
  }

  /** Expired keys are ignored by lookups; delete them about once an hour. */
  private purgeNowAndThen(): void {
    if (Date.now() - this.lastPurge < 3_600_000) return;
    this.lastPurge = Date.now();
    detachedFromRequest(() => this.keys.purgeExpired()).catch((err: unknown) =>
      this.logger.warn(`purging expired idempotency keys failed: ${(err as Error).message}`),
    );
  }
}
