import { BarResult, BarRuleOptions, BarValidator, createBarValidator, RawBar } from './bar.rules';
import { DuplicateTracker } from './duplicate.tracker';

/**
 * The one way raw bars become writable ones, for JSON, CSV and the CLI alike: the bar rule set,
 * then the duplicate rule — a (symbol, date) already produced earlier in the same request or
 * file is rejected with DUPLICATE_IN_FILE on its later occurrence. One instance per request or
 * file; `check` is called in input order.
 */
export class ValidatedBars {
  private readonly validate: BarValidator;
  private readonly duplicates = new DuplicateTracker();

  constructor(
    options: BarRuleOptions,
    /** How the input is named in the duplicate message ("file", "request"). */
    private readonly scope: 'file' | 'request' = 'file',
  ) {
    this.validate = createBarValidator(options);
  }

  check(raw: RawBar): BarResult {
    const result = this.validate(raw);
    if (!result.ok) return result;
    const { symbol, date } = result.bar;
    if (this.duplicates.add(symbol, date)) return result;
    return {
      ok: false,
      errors: [
        {
          field: 'date',
          code: 'DUPLICATE_IN_FILE',
          message: `${symbol} ${date} appears earlier in this ${this.scope}`,
        },
      ],
    };
  }
}
