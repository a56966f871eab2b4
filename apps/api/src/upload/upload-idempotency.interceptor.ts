import { canonicalQuery } from '@app/common';
import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { fingerprint, IdempotencyService } from '../idempotency/idempotency.service';
import {
  FingerprintStrategy,
  IdempotencyInterceptor,
} from '../idempotency/idempotency.interceptor';
import { prefersAsync, UploadService } from './upload.service';

/**
 * Uploads: the fingerprint covers the parameters and the file's bytes, known only once the file
 * was streamed through (hashed on the way by UploadService); a replay reads and hashes the
 * request's file without writing anything.
 */
class StreamedBodyFingerprint implements FingerprintStrategy {
  constructor(private readonly uploads: UploadService) {}

  upfront(req: Request): null {
    // From here on the upload's byte stream is hashed as it is read.
    this.uploads.hashBodyOf(req);
    return null;
  }

  afterwards(req: Request): string {
    return fingerprint(this.params(req), this.uploads.bodyDigestOf(req));
  }

  async replayed(req: Request): Promise<string> {
    return fingerprint(this.params(req), await this.uploads.digestOfFile(req));
  }

  /** 409 before the body was read: hang up on the rest of it. */
  refused(req: Request): void {
    this.uploads.hangUpAfterAnswer(req);
  }

  private params(req: Request): string {
    return fingerprint(req.path, canonicalQuery(req), String(prefersAsync(req)));
  }
}

@Injectable()
export class UploadIdempotencyInterceptor extends IdempotencyInterceptor {
  constructor(idempotency: IdempotencyService, uploads: UploadService) {
    super(idempotency, new StreamedBodyFingerprint(uploads));
  }
}
