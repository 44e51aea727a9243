export { BlobIndex, idKey, idFromKey, type IndexEntry } from './blob-index.js';
export { encodeIndexFile, decodeIndexFile, IndexFormatError, INDEX_VERSION, type IndexFile } from './index-file.js';
