export { PackBuilder, type SealedBlob, type FinishedPack } from './builder.js';
export { PackBuffers } from './buffers.js';
export { readPackEntries, entriesFromPackBytes } from './reader.js';
export { packName, packIdFromName } from './names.js';
export {
  PACK_MAGIC,
  PACK_HEADER_BYTES,
  PACK_ENTRY_BYTES,
  PACK_DELTA_ENTRY_BYTES,
  TRAILER_AAD,
  encodeEntries,
  decodeEntries,
  decodeEntriesAt,
  entriesBytes,
  entryBytes,
  readEntry,
  writeEntry,
  PackFormatError,
  type PackEntry,
  type BlobType,
} from './format.js';
