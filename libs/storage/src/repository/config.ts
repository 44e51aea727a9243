import type { ChunkerOptions } from '../chunker/index.js';

/**
 * `config`: plaintext JSON, written once at init. Holds nothing secret (the
 * gear seed lives with the master keys); docs/repository-format.md, "Config".
 */
export interface RepositoryConfig {
  version: 1;
  /** 16 random bytes, hex: binds the wrapped master keys to this repository. */
  id: string;
  created: string;
  chunker: Pick<ChunkerOptions, 'minSize' | 'avgSize' | 'maxSize'>;
}

export const CONFIG_NAME = 'config';
export const REPOSITORY_FORMAT_VERSION = 1;
