export { restoreSnapshot, type RestoreOptions, type RestoreStats } from './restorer.js';
