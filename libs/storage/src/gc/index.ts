export { collectGarbage, type GcOptions, type GcReport } from './gc.js';
