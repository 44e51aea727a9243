/**
 * Test helpers that build real objects (restic's internal/repository/testing.go):
 * a real repository on a real LocalBackend in a temp dir, with a random key.
 * Production code must not import this entry (tools/check-layers.mjs enforces it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from './backend/index.js';
import type { Backend } from './backend/backend.js';
import type { KekInput } from './keys/index.js';
import { Repository, type InitOptions } from './repository/index.js';

export { FaultyBackend, type FaultRule } from './backend/faulty.js';

/** Chunk sizes small enough that tests exercise many chunks per file. */
export const TEST_CHUNKER = { minSize: 4 * 1024, avgSize: 16 * 1024, maxSize: 64 * 1024 };

export interface TestRepo {
  repo: Repository;
  backend: Backend;
  dir: string;
  kek: KekInput;
  reopen(options?: InitOptions, kek?: KekInput): Promise<Repository>;
  cleanup(): Promise<void>;
}

export async function makeTestRepo(options: InitOptions = {}): Promise<TestRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'pbk-repo-'));
  const backend = new LocalBackend(dir);
  const kek: KekInput = { kind: 'key', key: randomBytes(32) };
  const repo = await Repository.init(backend, kek, { chunker: TEST_CHUNKER, packTargetBytes: 256 * 1024, ...options });
  return {
    repo,
    backend,
    dir,
    kek,
    reopen: (o = {}, k = kek) => Repository.open(new LocalBackend(dir), k, { packTargetBytes: 256 * 1024, ...o }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function tempDir(prefix = 'pbk-test-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
