import {
  BarChecker,
  BarFieldError,
  BarResult,
  BarRuleOptions,
  createBarChecker,
  emptyBar,
  RawBar,
  ValidBar,
} from './bar.rules';
import { DuplicateTracker } from './duplicate.tracker';

/**
 * The one way raw bars become writable ones, for JSON, CSV and the CLI alike: the bar rule set,
 * then the duplicate rule — a (symbol, date) already produced earlier in the same request or
 * file is rejected with DUPLICATE_IN_FILE on its later occurrence. One instance per request or
 * file; `check` (or `checkInto`) is called in input order.
 */
export class ValidatedBars {
  private readonly checker: BarChecker;
  private readonly duplicates = new DuplicateTracker();

  constructor(
    options: BarRuleOptions,
    /** How the input is named in the duplicate message ("file", "request"). */
    private readonly scope: 'file' | 'request' = 'file',
  ) {
    this.checker = createBarChecker(options);
  }

  check(raw: RawBar): BarResult {
    const bar = emptyBar();
    const errors = this.checkInto(raw, bar);
    return errors ? { ok: false, errors } : { ok: true, bar };
  }

  /**
   * As `check`, writing the bar into `out` (reused from row to row by a file's ingest, so a
   * valid row allocates nothing): answers the errors, or undefined when `out` holds the bar.
   */
  checkInto(raw: RawBar, out: ValidBar): BarFieldError[] | undefined {
    const errors = this.checker(raw, out);
    if (errors) return errors;
    const { symbol, date } = out;
    if (this.duplicates.add(symbol, date)) return undefined;
    return [
      {
        field: 'date',
        code: 'DUPLICATE_IN_FILE',
        message: `${symbol} ${date} appears earlier in this ${this.scope}`,
      },
    ];
  }
}
