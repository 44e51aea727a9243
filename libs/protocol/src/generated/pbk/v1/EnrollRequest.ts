// Original file: ../../protos/pbk/v1/agent.proto


export interface EnrollRequest {
  /**
   * The token from `pbk-coordinator token --host NAME`.
   */
  'token'?: (string);
  /**
   * PKCS#10 CSR (ECDSA P-256), PEM; its subject is ignored, the coordinator
   * writes role and host into the certificate itself.
   */
  'csrPem'?: (string);
  /**
   * Must equal the host the token was issued for; lets the coordinator give
   * a clear error instead of a certificate for an unexpected name.
   */
  'host'?: (string);
  'agentVersion'?: (string);
}

export interface EnrollRequest__Output {
  /**
   * The token from `pbk-coordinator token --host NAME`.
   */
  'token': (string);
  /**
   * PKCS#10 CSR (ECDSA P-256), PEM; its subject is ignored, the coordinator
   * writes role and host into the certificate itself.
   */
  'csrPem': (string);
  /**
   * Must equal the host the token was issued for; lets the coordinator give
   * a clear error instead of a certificate for an unexpected name.
   */
  'host': (string);
  'agentVersion': (string);
}
