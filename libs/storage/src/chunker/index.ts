/**
 * Content-defined chunker: cuts byte streams into chunks whose boundaries
 * follow the content, so an edit changes only the chunks around it and the
 * rest deduplicate (DESIGN.md decision 1). The cut rule, gear table and masks
 * are part of the repository format; see chunker.ts and gear.ts.
 */
export { Chunker, chunkStream, cutPoints } from './chunker.js';
export { FixedChunker } from './fixed.js';
export { cutMask, gearTable, GEAR_SEED_LABEL } from './gear.js';
export {
  ChunkerOptionsError,
  DEFAULT_CHUNKER_OPTIONS,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE_FLOOR,
  MIN_GEAR_SEED_BYTES,
  NORMALIZATION_LEVEL,
  validateChunkerOptions,
  type ChunkerOptions,
} from './options.js';
