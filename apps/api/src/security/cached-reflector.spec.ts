import { SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CachedReflector } from './cached-reflector';

@SetMetadata('on-class', 'class value')
class Routes {
  @SetMetadata('on-handler', 'handler value')
  @SetMetadata('on-class', 'handler wins')
  marked(): void {}

  plain(): void {}
}

describe('CachedReflector', () => {
  const plain = new Reflector();
  const targets = [
    [Routes.prototype.marked, Routes],
    [Routes.prototype.plain, Routes],
  ];

  it('answers what Reflector answers, for every key and target, absent keys included', () => {
    const cached = new CachedReflector();
    for (const pair of targets) {
      for (const key of ['on-class', 'on-handler', 'absent']) {
        for (let round = 0; round < 2; round++) {
          expect(cached.getAllAndOverride(key, pair)).toEqual(plain.getAllAndOverride(key, pair));
          expect(cached.get(key, pair[0])).toEqual(plain.get(key, pair[0]));
        }
      }
    }
    expect(cached.getAllAndOverride('on-class', targets[0])).toBe('handler wins');
    expect(cached.getAllAndOverride('on-class', targets[1])).toBe('class value');
    expect(cached.getAllAndOverride('absent', targets[1])).toBeUndefined();
  });

  it('reads reflect-metadata once per key and target pair, whatever array carries them', () => {
    const cached = new CachedReflector();
    const read = jest.spyOn(Reflect, 'getMetadata');
    for (let i = 0; i < 5; i++) {
      cached.getAllAndOverride('on-class', [...targets[0]]);
      cached.getAllAndOverride('absent', [...targets[0]]);
      cached.get('on-handler', targets[0][0]);
    }
    // getAllAndOverride reads the handler, then the class unless the handler had it (1 + 2); get
    // reads its target (1): 4 reads in all, not 20.
    expect(read).toHaveBeenCalledTimes(4);
    read.mockRestore();
  });

  it('leaves other call shapes to Reflector', () => {
    const cached = new CachedReflector();
    expect(cached.getAllAndOverride('on-class', [Routes])).toBe('class value');
    expect(cached.getAllAndOverride('on-class', [])).toBeUndefined();
  });
});
