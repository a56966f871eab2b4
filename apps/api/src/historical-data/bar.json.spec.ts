import fc from 'fast-check';
import { barArbitrary } from '../../../../test/fixtures/bar.arbitrary';
import { barPageJson } from './bar.json';

const bar = barArbitrary();

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
