import type { Bar } from '@app/database';
import fc from 'fast-check';
import { barPageJson } from './bar.json';

const price = fc.double({ min: 1e-8, max: 1e9, noNaN: true, noDefaultInfinity: true });
const bar: fc.Arbitrary<Bar> = fc
  .record({
    id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    symbol: fc.stringMatching(/^[A-Z0-9.\-^=_/:]{1,32}$/),
    date: fc
      .date({ min: new Date('1900-01-01'), max: new Date('2100-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    open: price,
    high: price,
    low: price,
    close: price,
    adjClose: fc.option(price, { nil: undefined }),
    volume: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  })
  // In the repository's field order (toBar): adjClose, when stored, comes before volume.
  .map(({ adjClose, volume, ...prices }) =>
    adjClose === undefined ? { ...prices, volume } : { ...prices, adjClose, volume },
  );

describe('barPageJson', () => {
  it('writes exactly what JSON.stringify writes, for any page of bars', () => {
    fc.assert(
      fc.property(
        fc.array(bar, { maxLength: 50 }),
        fc.record({ page: fc.nat(), limit: fc.nat(), total: fc.nat(), totalPages: fc.nat() }),
        (data, pagination) => {
          const page = { data, pagination };
          expect(barPageJson(page)).toBe(JSON.stringify(page));
        },
      ),
    );
  });
});
