import { AppError, continueReading, lingerAfterAnswer, onPastDeadline } from '@app/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { createHash, Hash } from 'node:crypto';
import { PassThrough, Readable, Transform, TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';

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

/**
 * Hangs up on a client once its answer is sent, letting it finish sending first (see
 * lingerAfterAnswer): up to `limit` more bytes are discarded, so a client that reads only after
 * sending a file of up to twice the limit still gets its answer.
 */
export function lingeringCloseAfterResponse(req: Request, limit: number): void {
  lingerAfterAnswer(req, limit);
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
  /** The file's bytes as the parser reads them (decompressed when gzipped), behind the limit. */
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
const GZIP_TYPES = ['application/gzip', 'application/x-gzip'];

/** Room for the multipart envelope (boundaries, part headers, small fields) around the file. */
const MULTIPART_ENVELOPE_BYTES = 1024 * 1024;

function unsupported(detail: string): AppError {
  return new AppError('UNSUPPORTED_MEDIA_TYPE', detail);
}

/**
 * Refusals that need none of the body: they are answered before `100 Continue` (a client that
 * asked for one sends nothing) and before any upload is recorded.
 */
function refuseBeforeReading(req: Request, limit: number): void {
  const declared = Number(req.headers['content-length']);
  const multipart = req.is('multipart/form-data') !== false;
  const room = multipart ? limit + MULTIPART_ENVELOPE_BYTES : limit;
  if (Number.isFinite(declared) && declared > room) throw payloadTooLarge(limit);
  if (multipart) return;
  if (req.is(['application/json', '+json'])) {
    throw unsupported(
      'This route takes a CSV file: multipart/form-data (field "file") or a text/csv body. To write bars as JSON, POST them to /api/v1/data.',
    );
  }
  if (!req.is([...RAW_TYPES, ...GZIP_TYPES])) {
    throw unsupported('Send the CSV as multipart/form-data (field "file") or as a text/csv body.');
  }
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw unsupported(`Content-Encoding ${encoding} is not supported; send gzip or no encoding.`);
  }
}

const isGzipped = (type: string | undefined, name: string | undefined): boolean =>
  GZIP_TYPES.includes(String(type).toLowerCase()) || /\.gz$/i.test(name ?? '');

/**
 * The file's bytes, from a multipart `file` field (streamed by busboy, never buffered) or a raw
 * CSV body, behind the byte limit; gzip (Content-Encoding, a gzip type or a `.gz` part) goes
 * through gunzip with the limit applied to the decompressed bytes too. A disconnect part way
 * fails the stream with ClientAbortedError.
 */
export async function openUploadSource(req: Request, limit: number): Promise<UploadSource> {
  try {
    refuseBeforeReading(req, limit);
  } catch (err) {
    lingeringCloseAfterResponse(req, limit);
    throw err;
  }
  continueReading(req);
  let input: Readable;
  let fileName: string | undefined;
  let gzip: boolean;
  if (req.is('multipart/form-data')) {
    const file = await firstFilePart(req, limit);
    input = file.stream;
    fileName = file.name;
    gzip = isGzipped(file.type, file.name);
  } else {
    input = req;
    const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
    gzip =
      encoding === 'gzip' || encoding === 'x-gzip' || isGzipped(req.headers['content-type'], '');
  }
  const stream = limited(req, input, limit, gzip);
  stream.once('error', (err) => {
    if (isTooLarge(err)) lingeringCloseAfterResponse(req, limit);
  });
  const abort = (): void => {
    if (!req.complete) stream.destroy(new ClientAbortedError());
  };
  req.once('close', abort);
  // Past the request's time budget: stop reading (the ingest then stops) and hang up on the rest.
  const stopListening = onPastDeadline((reason) => {
    if (!req.complete) lingeringCloseAfterResponse(req, limit);
    stream.destroy(reason as Error);
  });
  stream.once('close', () => {
    req.off('close', abort);
    stopListening();
  });
  const declared = Number(req.headers['content-length']);
  return {
    stream,
    fileName,
    declaredBytes:
      gzip || fileName !== undefined || !Number.isFinite(declared) ? undefined : declared,
  };
}

/**
 * `input` behind the limit, counted; gzipped input is counted as received and again as
 * decompressed (a small bomb must not expand past the limit). Errors of every stage end the
 * returned stream: the limit's as 413, a corrupt gzip stream as 415, a cut request as an abort.
 */
function limited(req: Request, input: Readable, limit: number, gzip: boolean): ByteLimit {
  const out = new ByteLimit(limit);
  const fail = (err: Error): void => {
    out.destroy(err instanceof AppError || req.complete ? err : new ClientAbortedError());
  };
  input.once('error', fail);
  // Once the reader is gone, what still arrives is discarded, not buffered behind a stalled pipe.
  out.once('close', () => input.unpipe());
  if (!gzip) {
    input.pipe(out);
    return out;
  }
  const received = new ByteLimit(limit);
  const gunzip = createGunzip();
  received.once('error', fail);
  gunzip.once('error', () =>
    fail(unsupported('The gzip stream is corrupt or truncated; nothing after the break was read.')),
  );
  input.pipe(received).pipe(gunzip).pipe(out);
  return out;
}

function firstFilePart(
  req: Request,
  limit: number,
): Promise<{ stream: Readable; name?: string; type?: string }> {
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
      resolve({ stream: out, name: info.filename, type: info.mimeType });
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
