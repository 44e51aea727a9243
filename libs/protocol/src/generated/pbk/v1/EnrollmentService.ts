// Original file: ../../protos/pbk/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EnrollRequest as _pbk_v1_EnrollRequest, EnrollRequest__Output as _pbk_v1_EnrollRequest__Output } from '../../pbk/v1/EnrollRequest.js';
import type { EnrollResponse as _pbk_v1_EnrollResponse, EnrollResponse__Output as _pbk_v1_EnrollResponse__Output } from '../../pbk/v1/EnrollResponse.js';

export interface EnrollmentServiceClient extends grpc.Client {
  /**
   * Exchanges a one-time, expiring token and a CSR for a client certificate.
   * The agent's private key never leaves the host: only the CSR travels.
   * Errors: UNAUTHENTICATED (token unknown, expired or already used),
   * INVALID_ARGUMENT (CSR unreadable, wrong key type, bad signature),
   * PERMISSION_DENIED (host differs from the host the token was issued for).
   */
  Enroll(argument: _pbk_v1_EnrollRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  Enroll(argument: _pbk_v1_EnrollRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  Enroll(argument: _pbk_v1_EnrollRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  Enroll(argument: _pbk_v1_EnrollRequest, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Exchanges a one-time, expiring token and a CSR for a client certificate.
   * The agent's private key never leaves the host: only the CSR travels.
   * Errors: UNAUTHENTICATED (token unknown, expired or already used),
   * INVALID_ARGUMENT (CSR unreadable, wrong key type, bad signature),
   * PERMISSION_DENIED (host differs from the host the token was issued for).
   */
  enroll(argument: _pbk_v1_EnrollRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  enroll(argument: _pbk_v1_EnrollRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  enroll(argument: _pbk_v1_EnrollRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  enroll(argument: _pbk_v1_EnrollRequest, callback: grpc.requestCallback<_pbk_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface EnrollmentServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Exchanges a one-time, expiring token and a CSR for a client certificate.
   * The agent's private key never leaves the host: only the CSR travels.
   * Errors: UNAUTHENTICATED (token unknown, expired or already used),
   * INVALID_ARGUMENT (CSR unreadable, wrong key type, bad signature),
   * PERMISSION_DENIED (host differs from the host the token was issued for).
   */
  Enroll: grpc.handleUnaryCall<_pbk_v1_EnrollRequest__Output, _pbk_v1_EnrollResponse>;
  
}

export interface EnrollmentServiceDefinition extends grpc.ServiceDefinition {
  Enroll: MethodDefinition<_pbk_v1_EnrollRequest, _pbk_v1_EnrollResponse, _pbk_v1_EnrollRequest__Output, _pbk_v1_EnrollResponse__Output>
}
