import { ThrottledWarning } from './throttled-warning';

describe('ThrottledWarning', () => {
  it('writes the first warning, drops the next ones within the interval, then writes again', () => {
    const warn = jest.fn();
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      const w = new ThrottledWarning({ warn }, 10_000);
      w.warn('down 1');
      now.mockReturnValue(1_009_999);
      w.warn('down 2');
      now.mockReturnValue(1_010_000);
      w.warn('down 3');
      expect(warn.mock.calls).toEqual([['down 1'], ['down 3']]);
    } finally {
      now.mockRestore();
    }
  });
});
