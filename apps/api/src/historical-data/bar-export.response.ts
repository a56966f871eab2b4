import { BarExporter, EXPORT_FORMATS, exportFileName } from '@app/database';
import { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { pipeline, Readable } from 'node:stream';
import type { ExportBarsQuery } from './dto/export-bars.query.parser';

const logger = new Logger('BarExport');

/**
 * Resolves when `body` has its first bytes (or has ended), rejects when it fails first. Until
 * then nothing is sent, so a database that fails at once still gets a problem+json answer.
 */
function firstBytes(body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error): void => {
      body.off('readable', onReadable);
      body.off('error', onError);
      body.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = (): void => settle();
    const onError = (err: Error): void => settle(err);
    const onClose = (): void => settle();
    body.once('readable', onReadable);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

/**
 * GET /api/v1/data/export: streams the selection with backpressure (a slow client slows the
 * database cursor down; memory stays constant). The handler returns once the response has begun:
 * the request timeout bounds the wait for the first bytes, not the download.
 *
 * - The client goes away: the response closes, `body` is destroyed and the cursor stops its
 *   statement (bar-cursor.ts).
 * - The database fails after the first byte: the connection is cut (no terminating chunk), so
 *   the client sees a broken transfer — curl exit 18, Python's IncompleteRead — never a clean
 *   but short file. docs/API.md, "Export", says how clients tell.
 */
export async function sendExport(
  exporter: BarExporter,
  query: ExportBarsQuery,
  req: Request,
  res: Response,
): Promise<void> {
  const selection = {
    symbols: query.symbols,
    startDate: query.start_date,
    endDate: query.end_date,
  };
  const { body } = exporter.open(selection, query.format);
  // Covers the client leaving, and a timeout answered before the first row came: stop reading.
  const stop = (): void => void body.destroy();
  res.once('close', stop);
  await firstBytes(body);
  res.off('close', stop);
  if (res.headersSent || res.destroyed) {
    body.destroy();
    return;
  }
  // The middleware (metrics, logging, compression) and pipeline each watch 'close': more than
  // Node's default warning threshold of 10 on one response, none of them a leak.
  res.setMaxListeners(20);
  res.status(200);
  res.attachment(exportFileName(selection, query.format));
  // After attachment(), which would set a type from the extension (none known for .ndjson).
  res.setHeader('Content-Type', EXPORT_FORMATS[query.format].contentType);
  pipeline(body, res, (err) => {
    if (!err) return;
    // pipeline has destroyed the response: the transfer ends broken, not short and clean.
    if (!res.writableFinished && (err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      logger.warn(
        `export cut after ${res.socket?.bytesWritten ?? '?'} bytes: ${err.message} (request ${String(req.headers['x-request-id'] ?? res.getHeader('X-Request-Id') ?? '')})`,
      );
    }
    res.destroy();
  });
}
