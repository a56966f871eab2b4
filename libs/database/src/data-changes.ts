import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';

/** Which bars a committed write touched: these symbols, or (a filter without symbol) any. */
export type ChangedSymbols = ReadonlySet<string> | 'all';
export type ChangeListener = (changed: ChangedSymbols) => Promise<void>;
/** Work that must be part of a write transaction itself (derived tables), run just before COMMIT. */
export type CommitHook = (tx: QueryRunner) => Promise<void>;

/**
 * Tells listeners (the response cache) which symbols a transaction changed, once it has committed
 * and before the request that wrote answers — so a read after a write never sees the old data.
 * Repositories record what they touch on the transaction; TransactionRunner publishes on commit and
 * forgets on rollback.
 */
@Injectable()
export class DataChanges {
  private readonly pending = new WeakMap<QueryRunner, Set<string> | 'all'>();
  private readonly listeners: ChangeListener[] = [];
  private readonly hooks: CommitHook[] = [];

  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** `hook` runs inside every transaction, after its work and before COMMIT (see TransactionRunner). */
  beforeCommit(hook: CommitHook): void {
    this.hooks.push(hook);
  }

  /** The transaction's work is done: let the hooks add theirs before it commits. */
  async prepare(tx: QueryRunner): Promise<void> {
    for (const hook of this.hooks) await hook(tx);
  }

  touched(tx: QueryRunner, symbols: Iterable<string> | 'all'): void {
    if (this.listeners.length === 0) return;
    const current = this.pending.get(tx);
    if (current === 'all') return;
    if (symbols === 'all') {
      this.pending.set(tx, 'all');
      return;
    }
    const set = current ?? new Set<string>();
    for (const s of symbols) set.add(s);
    this.pending.set(tx, set);
  }

  /** The transaction committed: publish what it changed. */
  async committed(tx: QueryRunner): Promise<void> {
    const changed = this.pending.get(tx);
    this.pending.delete(tx);
    if (!changed) return;
    await Promise.all(this.listeners.map((l) => l(changed)));
  }

  rolledBack(tx: QueryRunner): void {
    this.pending.delete(tx);
  }
}
