import type { Backend } from './backend.js';

/** The name of a Backend method, as decorators report and match it. */
export type BackendOp = Exclude<keyof Backend, 'location'>;
