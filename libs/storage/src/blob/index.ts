export { sealChunk, openChunk, makeBlob, sealDeltaChunk, DELTA_MAX_SHARE } from './codec.js';
