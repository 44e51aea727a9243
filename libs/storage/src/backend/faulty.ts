import type { Readable } from 'node:stream';
import { StorageError } from '../errors.js';
import type { Backend, ByteRange, ObjectInfo, OpOptions } from './backend.js';
import type { BackendOp } from './op.js';
import { defaultSleep, sleepOrCancel, type Sleep } from './signals.js';
import { readableFromChunks } from './streams.js';

/**
 * One injected fault. A call matches when `op` is the same and `name` (tested against the
 * object name, or the prefix for list) matches; the first matching rule with firings left fires.
 */
export interface FaultRule {
  op: BackendOp;
  name?: RegExp;
  /** How many calls the rule fires on. Omitted: every matching call. */
  times?: number;
  /** The error to fail with. Omitted: a StorageError INTERNAL naming the fault (unless the rule only delays). */
  error?: () => Error;
  /**
   * put: hand the inner backend this many bytes of the source, then fail the source with the
   * error, so the inner backend's own cleanup runs for real (a source shorter than this fails
   * at its end, before the inner backend could commit). createReadStream: pass this many bytes,
   * then fail the stream (as with any Node stream, bytes still buffered when the error comes
   * are dropped, not delivered). Ignored by the other operations, which fail before calling inner.
   */
  afterBytes?: number;
  /** Wait this long (cancellable by the call's signal) before the fault, or before passing on. */
  delayMs?: number;
}

interface LiveRule {
  rule: FaultRule;
  left: number;
}

/**
 * Fault injection as a decorator, not a mock (kopia blobtesting/faulty.go): the real backend
 * underneath does the real work, and the rules decide which calls fail, how, and when.
 * Test-only; the package exports it from its `testing` entry.
 */
export class FaultyBackend implements Backend {
  readonly location: string;
  private rules: LiveRule[] = [];
  private readonly sleep: Sleep;
  private readonly counts = new Map<BackendOp, number>();

  constructor(readonly inner: Backend, rules: FaultRule[] = [], options: { sleep?: Sleep } = {}) {
    this.location = inner.location;
    this.sleep = options.sleep ?? defaultSleep;
    for (const rule of rules) this.addRule(rule);
  }

  addRule(rule: FaultRule): this {
    this.rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    return this;
  }

  clearRules(): void {
    this.rules = [];
  }

  /** How many faults (including delays) fired for `op`, or for all operations. */
  fired(op?: BackendOp): number {
    if (op) return this.counts.get(op) ?? 0;
    let total = 0;
    for (const n of this.counts.values()) total += n;
    return total;
  }

  async put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void> {
    const rule = await this.before('put', name, options?.signal);
    if (rule?.afterBytes !== undefined) {
      await this.inner.put(name, failAfter(data, rule.afterBytes, errorOf(rule, 'put', name)), options);
      return;
    }
    if (rule && fails(rule)) throw errorOf(rule, 'put', name)();
    await this.inner.put(name, data, options);
  }

  async get(name: string, range?: ByteRange, options?: OpOptions): Promise<Buffer> {
    const rule = await this.before('get', name, options?.signal);
    if (rule && fails(rule)) throw errorOf(rule, 'get', name)();
    return this.inner.get(name, range, options);
  }

  async stat(name: string, options?: OpOptions): Promise<ObjectInfo> {
    const rule = await this.before('stat', name, options?.signal);
    if (rule && fails(rule)) throw errorOf(rule, 'stat', name)();
    return this.inner.stat(name, options);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  async delete(name: string, options?: OpOptions): Promise<void> {
    const rule = await this.before('delete', name, options?.signal);
    if (rule && fails(rule)) throw errorOf(rule, 'delete', name)();
    await this.inner.delete(name, options);
  }

  async *list(prefix: string, options?: OpOptions): AsyncGenerator<ObjectInfo> {
    const rule = await this.before('list', prefix, options?.signal);
    if (rule && fails(rule)) throw errorOf(rule, 'list', prefix)();
    yield* this.inner.list(prefix, options);
  }

  createReadStream(name: string, range?: ByteRange, options?: OpOptions): Readable {
    const signal = options?.signal;
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      const rule = await self.before('createReadStream', name, signal);
      if (rule && fails(rule) && rule.afterBytes === undefined) throw errorOf(rule, 'createReadStream', name)();
      const stream = self.inner.createReadStream(name, range, options);
      const fault = rule?.afterBytes === undefined ? undefined : { left: rule.afterBytes, error: errorOf(rule, 'createReadStream', name) };
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (fault && chunk.length >= fault.left) {
            if (fault.left > 0) yield chunk.subarray(0, fault.left);
            throw fault.error();
          }
          if (fault) fault.left -= chunk.length;
          yield chunk;
        }
        if (fault) throw fault.error();
      } finally {
        stream.destroy();
      }
    }
    return readableFromChunks(chunks(), signal, `createReadStream ${name}`);
  }

  /** Finds the rule for this call, if any, uses up one firing and waits out its delay. */
  private async before(op: BackendOp, name: string, signal: AbortSignal | undefined): Promise<FaultRule | undefined> {
    const live = this.rules.find((r) => r.left > 0 && r.rule.op === op && matches(r.rule.name, name));
    if (!live) return undefined;
    live.left--;
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
    if (live.rule.delayMs !== undefined && live.rule.delayMs > 0) await sleepOrCancel(this.sleep, live.rule.delayMs, signal, `${op} ${name}`);
    return live.rule;
  }
}

function matches(pattern: RegExp | undefined, name: string): boolean {
  if (!pattern) return true;
  // A /g or /y pattern keeps state between test() calls; every call starts afresh.
  pattern.lastIndex = 0;
  return pattern.test(name);
}

/** A rule fails the call unless all it asks for is a delay. */
function fails(rule: FaultRule): boolean {
  return rule.error !== undefined || rule.afterBytes !== undefined || rule.delayMs === undefined;
}

function errorOf(rule: FaultRule, op: BackendOp, name: string): () => Error {
  return rule.error ?? (() => new StorageError('INTERNAL', `fault injected by FaultyBackend into ${op} ${name}`));
}

async function* failAfter(data: Buffer | AsyncIterable<Buffer>, afterBytes: number, error: () => Error): AsyncGenerator<Buffer> {
  const source: AsyncIterable<Buffer> | Iterable<Buffer> = data instanceof Uint8Array ? [data] : data;
  let left = afterBytes;
  if (left === 0) throw error();
  for await (const chunk of source) {
    if (chunk.length >= left) {
      yield chunk.subarray(0, left);
      throw error();
    }
    left -= chunk.length;
    yield chunk;
  }
  throw error();
}
