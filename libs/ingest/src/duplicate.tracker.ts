/**
 * Remembers which (symbol, date) pairs a file or request has already produced, to reject later
 * repeats with DUPLICATE_IN_FILE. Memory stays compact on million-row files: one Set of day
 * numbers per symbol (a small integer per row), never the row or a "SYMBOL|date" string.
 */
export class DuplicateTracker {
  private readonly seen = new Map<string, Set<number>>();

  /** Records the pair; returns false when it was already there. */
  add(symbol: string, isoDate: string): boolean {
    const day =
      Date.UTC(+isoDate.slice(0, 4), +isoDate.slice(5, 7) - 1, +isoDate.slice(8, 10)) / 86_400_000;
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
