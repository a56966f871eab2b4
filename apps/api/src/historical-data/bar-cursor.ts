import { AppError } from '@app/common';
import type { BarPosition } from '@app/database';
import { createHash } from 'node:crypto';

/** Where a cursor walk stands: the last bar returned, the page it was on, the first page's count. */
export interface CursorState extends BarPosition {
  page: number;
  total: number;
}

/** What a cursor is bound to: the filter and the sort, written canonically. */
export interface CursorScope {
  symbols: readonly string[];
  startDate?: string;
  endDate?: string;
  sort: 'asc' | 'desc';
}

const VERSION = 1;

function scopeKey(scope: CursorScope): string {
  const symbols = [...scope.symbols].sort().join(',');
  return `${symbols}|${scope.startDate ?? ''}|${scope.endDate ?? ''}|${scope.sort}`;
}

/** Ties the payload to the scope: another filter or sort, or any altered byte, fails the check. */
function seal(payload: string, scope: CursorScope): string {
  return createHash('sha256')
    .update(scopeKey(scope))
    .update('\n')
    .update(payload)
    .digest('base64url')
    .slice(0, 22);
}

/**
 * Opaque to clients: base64url of [version, date, symbol, page, total], then a digest over the
 * payload and the scope. The digest is an integrity check, not a secret: a cursor only names a
 * position inside the filter it was issued for, so there is nothing to gain by forging one.
 */
export function encodeCursor(state: CursorState, scope: CursorScope): string {
  const payload = Buffer.from(
    JSON.stringify([VERSION, state.date, state.symbol, state.page, state.total]),
  ).toString('base64url');
  return `${payload}.${seal(payload, scope)}`;
}

function invalid(): AppError {
  return new AppError(
    'INVALID_CURSOR',
    'The cursor is not one this filter and sort issued (altered, or reused with other parameters). Start again without cursor, and pass each page’s pagination.nextCursor unchanged with the same filter and sort.',
  );
}

export function decodeCursor(cursor: string, scope: CursorScope): CursorState {
  const [payload, digest, extra] = cursor.split('.');
  if (!payload || !digest || extra !== undefined || seal(payload, scope) !== digest) {
    throw invalid();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 5 || parsed[0] !== VERSION) throw invalid();
  const [, date, symbol, page, total] = parsed as unknown[];
  if (
    typeof date !== 'string' ||
    typeof symbol !== 'string' ||
    !Number.isInteger(page) ||
    !Number.isInteger(total)
  ) {
    throw invalid();
  }
  return { date, symbol, page: page as number, total: total as number };
}
