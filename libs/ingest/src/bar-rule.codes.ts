/** Row error codes (docs/API.md, stable): clients and reports switch on these. */
export const ROW_ERROR_CODES = [
  'MISSING_FIELD',
  'WRONG_COLUMN_COUNT',
  'INVALID_SYMBOL',
  'INVALID_DATE',
  'DATE_OUT_OF_RANGE',
  'INVALID_NUMBER',
  'NON_POSITIVE_PRICE',
  'INVALID_VOLUME',
  'HIGH_BELOW_LOW',
  'OPEN_OUT_OF_RANGE',
  'CLOSE_OUT_OF_RANGE',
  'DUPLICATE_IN_FILE',
  'ALREADY_EXISTS',
] as const;

export type RowErrorCode = (typeof ROW_ERROR_CODES)[number];
