// Original file: ../../protos/pbk/v1/agent.proto


export interface CancelCommand {
  'commandId'?: (Buffer | Uint8Array | string);
  'reason'?: (string);
}

export interface CancelCommand__Output {
  'commandId': (Buffer);
  'reason': (string);
}
