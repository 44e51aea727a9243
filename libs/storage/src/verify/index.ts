export { verifyRepository, type VerifyOptions, type VerifyReport, type Problem, type ProblemKind } from './verify.js';
export { walkSnapshotRefs, listSnapshotIds, type RefVisitor } from './refs.js';
export { repairIndex, type RepairIndexReport } from './repair.js';
