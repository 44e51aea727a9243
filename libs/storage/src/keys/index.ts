export { KeyRing, type MasterKeys, type KeyAccessEvent, type KeyAccessHook } from './keyring.js';
export { type KekInput } from './kek-input.js';
export { type KekRecord, kekRecordName, dekName, DEK_PREFIX, MASTER_KEY_NAME } from './kek-record.js';
