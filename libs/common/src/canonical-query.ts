/**
 * A request's query string with its parameters in a stable order (by name, then value), so the
 * same parameters in any order name the same thing: the response-cache key, the idempotency
 * fingerprint.
 */
export function canonicalQuery(req: { originalUrl: string }): string {
  const q = req.originalUrl.indexOf('?');
  if (q < 0) return '';
  const params = [...new URLSearchParams(req.originalUrl.slice(q + 1)).entries()].sort(
    ([a, b], [c, d]) => (a === c ? (b < d ? -1 : b > d ? 1 : 0) : a < c ? -1 : 1),
  );
  return new URLSearchParams(params).toString();
}
