import type { Bar } from '@app/database';

/**
 * A bar as JSON text, field for field what JSON.stringify writes (same order, adjClose only when
 * stored). Numbers from the database are finite, so String(n) is JSON's own number form.
 */
export function barJson(b: Bar): string {
  return (
    `{"id":${b.id},"symbol":${JSON.stringify(b.symbol)},"date":${JSON.stringify(b.date)},` +
    `"open":${b.open},"high":${b.high},"low":${b.low},"close":${b.close},` +
    (b.adjClose !== undefined ? `"adjClose":${b.adjClose},` : '') +
    `"volume":${b.volume}}`
  );
}

/** `{ data: Bar[], pagination }` as JSON text (the hot read's response). */
export function barPageJson(page: { data: Bar[]; pagination: object }): string {
  let out = '{"data":[';
  const bars = page.data;
  for (let i = 0; i < bars.length; i++) out += (i ? ',' : '') + barJson(bars[i]);
  return `${out}],"pagination":${JSON.stringify(page.pagination)}}`;
}
