import { AppError, onPastDeadline } from '@app/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { createHash, Hash } from 'node:crypto';
import type { Socket } from 'node:net';
import { PassThrough, Readable, Transform, TransformCallback } from 'node:stream';

/** The client went away before the body was complete. */
export class ClientAbortedError extends Error {
  constructor() {
    super('the client disconnected before the upload finished');
    this.name = 'ClientAbortedError';
  }
}

export function payloadTooLarge(limit: number): AppError {
  return new AppError(
    'PAYLOAD_TOO_LARGE',
    `The file exceeds the upload limit of ${limit} bytes (UPLOAD_MAX_BYTES).`,
    {
      // Stop the client sending the rest: the connection closes after this answer.
      headers: { Connection: 'close' },
    },
  );
}

/** How long an over-limit client may keep sending (discarded) after its 413 before we hang up. */
const LINGER_MS = 2000;

/**
 * After a 413 the client is usually still sending. Closing the socket outright while its bytes
 * are unread makes the kernel answer with a reset, and many clients then lose the 413 itself.
 * So: finish the response, half-close (FIN), discard whatever still arrives without parsing it,
 * and hang up after LINGER_MS at most.
 */
export function lingeringCloseAfterResponse(req: Request): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = () => {
    socket.end();
    req.resume();
    socket.resume();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

const isTooLarge = (err: unknown): boolean =>
  err instanceof AppError && err.code === 'PAYLOAD_TOO_LARGE';

/**
 * Counts bytes and fails the stream the moment they exceed the limit; hashes them when asked
 * (the fingerprint of an upload with an Idempotency-Key covers the file's bytes).
 */
export class ByteLimit extends Transform {
  bytes = 0;
  private hash?: Hash;

  constructor(private readonly limit: number) {
    super();
  }

  /** Hash what passes from now on (call before the first byte is read). */
  hashing(): this {
    this.hash = createHash('sha256');
    return this;
  }

  /** sha256 (hex) of every byte that passed; call after the end. */
  digest(): string {
    return this.hash ? this.hash.digest('hex') : '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    if (this.bytes > this.limit) done(payloadTooLarge(this.limit));
    else done(null, chunk);
  }
}

export interface UploadSource {
  stream: ByteLimit;
  fileName?: string;
  declaredBytes?: number;
}

const RAW_TYPES = [
  'text/csv',
  'application/csv',
  'text/plain',
  'application/vnd.ms-excel',
  'text/tab-separated-values',
];

/**
 * The file's bytes, from a multipart `file` field (streamed by busboy, never buffered) or a raw
 * CSV body, behind a byte limit. A disconnect part way fails the stream with ClientAbortedError.
 */
export async function openUploadSource(req: Request, limit: number): Promise<UploadSource> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit && !req.is('multipart/form-data')) {
    lingeringCloseAfterResponse(req);
    throw payloadTooLarge(limit);
  }
  const counted = new ByteLimit(limit);
  counted.once('error', (err) => {
    if (isTooLarge(err)) lingeringCloseAfterResponse(req);
  });
  const abort = (): void => {
    if (!req.complete) counted.destroy(new ClientAbortedError());
  };
  req.once('close', abort);
  // Past the request's time budget: stop reading (the ingest then stops) and hang up on the rest.
  const stopListening = onPastDeadline((reason) => {
    if (!req.complete) lingeringCloseAfterResponse(req);
    counted.destroy(reason as Error);
  });
  counted.once('close', () => {
    req.off('close', abort);
    stopListening();
  });

  if (req.is('multipart/form-data')) {
    const file = await firstFilePart(req, limit);
    file.stream.pipe(counted);
    file.stream.once('error', (err: Error) =>
      counted.destroy(req.complete ? err : new ClientAbortedError()),
    );
    return { stream: counted, fileName: file.name, declaredBytes: undefined };
  }
  if (!req.is(RAW_TYPES)) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the CSV as multipart/form-data (field "file") or as a text/csv body.',
    );
  }
  req.pipe(counted);
  req.once('error', (err: Error) => counted.destroy(req.complete ? err : new ClientAbortedError()));
  return { stream: counted, declaredBytes: Number.isFinite(declared) ? declared : undefined };
}

function firstFilePart(req: Request, limit: number): Promise<{ stream: Readable; name?: string }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fileSize: limit + 1, fields: 50 },
      });
    } catch {
      reject(new AppError('VALIDATION_ERROR', 'The multipart body is malformed (no boundary).'));
      return;
    }
    let found = false;
    parser.on('file', (field, stream, info) => {
      if (field !== 'file' || found) {
        stream.resume();
        return;
      }
      found = true;
      // busboy truncates at fileSize; surface that as the limit error, not a short file.
      const out = new PassThrough();
      stream.on('limit', () => out.destroy(payloadTooLarge(limit)));
      stream.pipe(out);
      resolve({ stream: out, name: info.filename });
    });
    parser.on('error', (err: Error) =>
      reject(
        found
          ? err
          : new AppError('VALIDATION_ERROR', `The multipart body is malformed: ${err.message}`),
      ),
    );
    parser.on('close', () => {
      if (!found) {
        reject(
          new AppError('VALIDATION_ERROR', 'The multipart body has no "file" field.', {
            errors: [{ field: 'file', message: 'attach the CSV as the multipart field "file"' }],
          }),
        );
      }
    });
    req.pipe(parser);
  });
}
