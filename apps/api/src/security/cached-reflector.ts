import { Reflector } from '@nestjs/core';

type Target = object;

/**
 * A Reflector that keeps its answers for `get(key, target)` and `getAllAndOverride(key, [handler,
 * class])`: route metadata is fixed once the decorators have run, and @nestjs/throttler asks for
 * six keys per throttler on every request, each a walk through reflect-metadata's maps (see
 * docs/ARCHITECTURE.md, "Performance budget"). Keys are compared by identity, targets held
 * weakly. Any other call shape goes to Reflector unchanged.
 */
export class CachedReflector extends Reflector {
  private readonly single = new WeakMap<Target, Map<unknown, unknown>>();
  private readonly pairs = new WeakMap<Target, WeakMap<Target, Map<unknown, unknown>>>();

  override get(key: unknown, target: Target): never {
    let known = this.single.get(target);
    if (!known) this.single.set(target, (known = new Map()));
    if (!known.has(key)) known.set(key, super.get(key as never, target as never));
    return known.get(key) as never;
  }

  override getAllAndOverride(key: unknown, targets: Target[]): never {
    const [handler, owner] = targets;
    if (targets.length !== 2 || !handler || !owner) {
      return super.getAllAndOverride<never>(key, targets as never);
    }
    let byOwner = this.pairs.get(handler);
    if (!byOwner) this.pairs.set(handler, (byOwner = new WeakMap()));
    let known = byOwner.get(owner);
    if (!known) byOwner.set(owner, (known = new Map()));
    if (!known.has(key)) known.set(key, super.getAllAndOverride(key as never, targets as never));
    return known.get(key) as never;
  }
}
