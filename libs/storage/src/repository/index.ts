export { Repository, DEFAULT_PACK_TARGET_BYTES, type RepositoryOptions, type InitOptions } from './repository.js';
export { type RepositoryConfig, CONFIG_NAME, REPOSITORY_FORMAT_VERSION } from './config.js';
export { sealObject, openObject, OBJECT_FOLDERS, type ObjectKind } from './objects.js';
