export {
  encodeWalManifest,
  decodeWalManifest,
  saveWalManifest,
  loadWalManifests,
  walFileKey,
  WAL_MANIFEST_VERSION,
  type WalManifest,
  type WalManifestFile,
  type WalManifestSet,
} from './manifest.js';
