/**
 * Bytes by name: the lowest storage layer. `Backend` and its guarantees (backend.ts), the
 * local filesystem backend, the retry and throttle decorators and `wrapBackend`, the one
 * place they are composed. FaultyBackend (./faulty.js) is left out on purpose: it is for
 * tests and belongs to the package's `testing` entry, which production code may not import.
 */
export type { Backend, ByteRange, ObjectInfo, OpOptions } from './backend.js';
export type { BackendOp } from './op.js';
export type { Sleep } from './signals.js';
export { LocalBackend, classifyFsError, type LocalBackendOptions } from './fs.js';
export { RetryingBackend, RETRY_DEFAULTS, backoffDelay, type RetryInfo, type RetryOptions } from './retrying.js';
export { ThrottledBackend, type ThrottleOptions } from './throttled.js';
export { wrapBackend, type WrapOptions } from './compose.js';
export { validateName, validatePrefix } from './names.js';
