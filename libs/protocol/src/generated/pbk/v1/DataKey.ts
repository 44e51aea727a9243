// Original file: ../../protos/pbk/v1/common.proto


/**
 * A data-encryption key in clear, only ever sent over mutual TLS to the agent
 * that needs it; every send is audited by the coordinator.
 */
export interface DataKey {
  /**
   * DEK id, as written in each blob's header.
   */
  'id'?: (Buffer | Uint8Array | string);
  /**
   * 32 bytes of AES-256-GCM key material.
   */
  'key'?: (Buffer | Uint8Array | string);
}

/**
 * A data-encryption key in clear, only ever sent over mutual TLS to the agent
 * that needs it; every send is audited by the coordinator.
 */
export interface DataKey__Output {
  /**
   * DEK id, as written in each blob's header.
   */
  'id': (Buffer);
  /**
   * 32 bytes of AES-256-GCM key material.
   */
  'key': (Buffer);
}
