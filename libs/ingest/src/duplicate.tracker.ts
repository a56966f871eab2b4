/**
 * Remembers which (symbol, date) pairs a file or request has already produced, to reject later
 * repeats with DUPLICATE_IN_FILE. Memory stays compact on million-row files: one Set of day
 * numbers per symbol (a small integer per row), never the row or a "SYMBOL|date" string.
 */
export class DuplicateTracker {
  private readonly seen = new Map<string, Set<number>>();

  /** Records the pair; returns false when it was already there. */
  add(symbol: string, isoDate: string): boolean {
    // YYYY-MM-DD → YYYYMMDD as a number: unique per date, no Date object, no string allocation.
    const c = (i: number): number => isoDate.charCodeAt(i) - 48;
    const day =
      c(0) * 10_000_000 +
      c(1) * 1_000_000 +
      c(2) * 100_000 +
      c(3) * 10_000 +
      c(5) * 1000 +
      c(6) * 100 +
      c(8) * 10 +
      c(9);
    let days = this.seen.get(symbol);
    if (!days) {
      days = new Set<number>();
      this.seen.set(symbol, days);
    }
    if (days.has(day)) return false;
    days.add(day);
    return true;
  }
}
