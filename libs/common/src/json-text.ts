/**
 * A response body that knows how to write itself as JSON faster than JSON.stringify's generic
 * walk (a page of 100 bars: ~4x faster). The text must equal JSON.stringify(body): the spec of
 * each writer checks it on random values.
 */
const JSON_TEXT = Symbol('jsonText');

type WithJsonText<T> = T & { [JSON_TEXT]?: (body: T) => string };

/** Attaches `write` to `body` (a symbol-keyed property: JSON.stringify ignores it). */
export function withJsonText<T extends object>(body: T, write: (body: T) => string): T {
  Object.defineProperty(body, JSON_TEXT, { value: write, enumerable: false });
  return body;
}

/** `body` as JSON text: its own writer when it has one, else JSON.stringify. */
export function jsonText(body: unknown): string {
  const write = (body as WithJsonText<object> | null | undefined)?.[JSON_TEXT];
  return write ? write(body as object) : JSON.stringify(body);
}
