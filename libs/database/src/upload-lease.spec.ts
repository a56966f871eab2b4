import { Logger } from '@nestjs/common';
import { untilStored, UploadLease } from './upload-lease';
import type { UploadsRepository } from './uploads.repository';

describe('untilStored', () => {
  const logger = { warn: jest.fn() } as unknown as Logger;

  it('retries a failing bookkeeping write until the database takes it', async () => {
    let calls = 0;
    const work = () => {
      calls++;
      return calls < 3 ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve('ok');
    };
    await expect(untilStored('the end of upload x', work, { maxDelayMs: 5, logger })).resolves.toBe(
      'ok',
    );
    expect(calls).toBe(3);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(
        'could not record the end of upload x (attempt 2: connect ECONNREFUSED)',
      ),
    );
  });

  it('gives up once the service is stopping, with the last error', async () => {
    let stopping = false;
    const work = () => {
      stopping = true;
      return Promise.reject(new Error('still down'));
    };
    await expect(
      untilStored('x', work, { stopped: () => stopping, maxDelayMs: 5, logger }),
    ).rejects.toThrow('still down');
  });
});

describe('UploadLease', () => {
  it('refreshes the heartbeat of its upload until released, surviving failed beats', async () => {
    jest.useFakeTimers();
    try {
      const heartbeat = jest.fn().mockRejectedValueOnce(new Error('down')).mockResolvedValue(1);
      const lease = new UploadLease(
        { heartbeat } as unknown as UploadsRepository,
        'pod-a',
        'id-1',
        1000,
      );
      await jest.advanceTimersByTimeAsync(3500);
      expect(heartbeat).toHaveBeenCalledTimes(3);
      expect(heartbeat).toHaveBeenCalledWith('pod-a', ['id-1']);
      lease.release();
      await jest.advanceTimersByTimeAsync(5000);
      expect(heartbeat).toHaveBeenCalledTimes(3);
    } finally {
      jest.useRealTimers();
    }
  });
});
