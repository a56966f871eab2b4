import { AppError } from '@app/common';
import busboy from 'busboy';
import type { Request } from 'express';
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

/** Counts bytes and fails the stream the moment they exceed the limit. */
export class ByteLimit extends Transform {
  bytes = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
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
    throw payloadTooLarge(limit);
  }
  const counted = new ByteLimit(limit);
  const abort = (): void => {
    if (!req.complete) counted.destroy(new ClientAbortedError());
  };
  req.once('close', abort);
  counted.once('close', () => req.off('close', abort));

  if (req.is('multipart/form-data')) {
    const file = await firstFilePart(req, limit);
    file.stream.pipe(counted);
    file.stream.once('error', (err: Error) => counted.destroy(err));
    return { stream: counted, fileName: file.name, declaredBytes: undefined };
  }
  if (!req.is(RAW_TYPES)) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the CSV as multipart/form-data (field "file") or as a text/csv body.',
    );
  }
  req.pipe(counted);
  req.once('error', (err: Error) => counted.destroy(err));
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
