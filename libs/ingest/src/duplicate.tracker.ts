/** Days from 1900-01-01: the rule set's earliest date is day 0. */
const EPOCH_1900 = Date.UTC(1900, 0, 1);
/** Past this many dates a symbol's dates move from a Set to a bitmap (one bit per day). */
const SET_LIMIT = 256;

/** The dates of one symbol: a small Set at first, a bitmap once it holds many. */
interface Days {
  set?: Set<number>;
  bits?: Uint8Array;
}

/**
 * Remembers which (symbol, date) pairs a file or request has already produced, to reject later
 * repeats with DUPLICATE_IN_FILE. Memory stays compact and flat on million-row files: a symbol
 * with few dates keeps a Set of day numbers; one with many (a long history) a bitmap of one bit
 * per calendar day since 1900 (~6 KB for 125 years), so 1M rows over 200 symbols cost ~1 MB
 * instead of a million Set entries — and the garbage collector has nothing to trace.
 */
export class DuplicateTracker {
  private readonly seen = new Map<string, Days>();

  /** Records the pair (date as YYYY-MM-DD, from 1900 on); returns false when it was already there. */
  add(symbol: string, isoDate: string): boolean {
    const day = dayNumber(isoDate);
    let days = this.seen.get(symbol);
    if (!days) {
      days = { set: new Set<number>() };
      this.seen.set(symbol, days);
    }
    if (days.bits) return setBit(days, day);
    const set = days.set!;
    if (set.has(day)) return false;
    set.add(day);
    if (set.size > SET_LIMIT) {
      days.bits = new Uint8Array(0);
      for (const d of set) setBit(days, d);
      days.set = undefined;
    }
    return true;
  }
}

/** YYYY-MM-DD → days since 1900-01-01, read digit by digit (no Date, no string allocated). */
function dayNumber(isoDate: string): number {
  const c = (i: number): number => isoDate.charCodeAt(i) - 48;
  const year = c(0) * 1000 + c(1) * 100 + c(2) * 10 + c(3);
  const month = c(5) * 10 + c(6);
  const day = c(8) * 10 + c(9);
  return Math.round((Date.UTC(year, month - 1, day) - EPOCH_1900) / 86_400_000);
}

/** Sets the day's bit, growing the bitmap as needed; false when it was set already. */
function setBit(days: Days, day: number): boolean {
  const byte = day >> 3;
  let bits = days.bits!;
  if (byte >= bits.length) {
    const grown = new Uint8Array(Math.max(byte + 1, bits.length * 2, 1024));
    grown.set(bits);
    days.bits = bits = grown;
  }
  const mask = 1 << (day & 7);
  if (bits[byte] & mask) return false;
  bits[byte] |= mask;
  return true;
}
