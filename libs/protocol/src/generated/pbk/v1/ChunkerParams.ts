// Original file: ../../protos/pbk/v1/agent.proto


/**
 * Content-defined chunking parameters of the repository. Every agent must use
 * the same ones, or identical data would not deduplicate.
 */
export interface ChunkerParams {
  'minSize'?: (number);
  'avgSize'?: (number);
  'maxSize'?: (number);
  /**
   * Secret seed of the gear table (keeps chunk boundaries from leaking content).
   */
  'gearSeed'?: (Buffer | Uint8Array | string);
}

/**
 * Content-defined chunking parameters of the repository. Every agent must use
 * the same ones, or identical data would not deduplicate.
 */
export interface ChunkerParams__Output {
  'minSize': (number);
  'avgSize': (number);
  'maxSize': (number);
  /**
   * Secret seed of the gear table (keeps chunk boundaries from leaking content).
   */
  'gearSeed': (Buffer);
}
