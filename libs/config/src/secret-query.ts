/**
 * Query parameters that carry credentials by habit (Polygon, Tiingo, EODHD and many other market
 * data APIs take `?apiKey=` or `?token=`). A URL is copied into access logs, proxy logs, traces and
 * browser history, so this service refuses a key sent this way and never writes one down.
 * Matched case-insensitively: `apiKey`, `APIKEY` and `api_key` are all the same habit.
 */
export const SECRET_QUERY_PARAMS: readonly string[] = [
  'apikey',
  'api_key',
  'api-key',
  'x-api-key',
  'key',
  'token',
  'access_token',
  'auth_token',
  'authorization',
];

export const REDACTED = 'REDACTED';

const nameOf = (pair: string): string => {
  const eq = pair.indexOf('=');
  const name = eq < 0 ? pair : pair.slice(0, eq);
  // Nothing encoded (the usual case): no decoding to do.
  if (!name.includes('%') && !name.includes('+')) return name.trim().toLowerCase();
  const raw = name.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw).trim().toLowerCase();
  } catch {
    return raw.trim().toLowerCase();
  }
};

/** The secret parameters a query string (without `?`) carries, as the client spelled them. */
export function secretParamsIn(query: string, names: readonly string[] = SECRET_QUERY_PARAMS) {
  return query
    .split('&')
    .filter((pair) => pair !== '' && names.includes(nameOf(pair)))
    .map((pair) => pair.split('=', 1)[0]);
}

/**
 * The query string with the value of each secret parameter replaced by REDACTED; everything else
 * byte for byte as sent, so a logged or traced URL still reproduces the request.
 */
export function redactQuery(query: string, names: readonly string[] = SECRET_QUERY_PARAMS) {
  const pairs = query.split('&');
  let redacted = false;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (pair !== '' && names.includes(nameOf(pair))) {
      pairs[i] = `${pair.split('=', 1)[0]}=${REDACTED}`;
      redacted = true;
    }
  }
  return redacted ? pairs.join('&') : query;
}

/** A path with its query (`/api/v1/data?apiKey=...`), secret parameters redacted. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? url : `${url.slice(0, at + 1)}${redactQuery(url.slice(at + 1))}`;
}
