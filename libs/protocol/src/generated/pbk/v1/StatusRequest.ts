// Original file: ../../protos/pbk/v1/operator.proto


export interface StatusRequest {
}

export interface StatusRequest__Output {
}
