// Original file: ../../protos/pbk/v1/agent.proto


export interface AbortBackupResponse {
}

export interface AbortBackupResponse__Output {
}
