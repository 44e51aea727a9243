export { Compactor, COMPACT_DEFAULTS, type CompactOptions, type CompactReport } from './compact.js';
