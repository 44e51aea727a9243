export { restoreSnapshot, type PlannedFile, type RestoreOptions, type RestoreStats } from './restorer.js';
