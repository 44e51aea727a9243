export { sealChunk, openChunk, makeBlob } from './codec.js';
