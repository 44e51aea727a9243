/**
 * Loads protos/pbk/v1 with @grpc/proto-loader and hands out typed service
 * definitions: `.service` for `server.addService`, the constructor for clients.
 * The types come from src/generated (proto-loader-gen-types, `npm run gen`),
 * produced with the same options as the loader uses here.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type Server } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { ProtoGrpcType as AgentProto } from './generated/agent.js';
import type { ProtoGrpcType as OperatorProto } from './generated/operator.js';

/**
 * Loader options; scripts/gen.ts passes the same ones to proto-loader-gen-types
 * so the generated types describe exactly the objects grpc-js hands us:
 * - keepCase false: camelCase fields, as TypeScript code expects;
 * - longs String: int64 as decimal strings, exact without a Long dependency;
 * - enums String: enum values by name, readable in logs and JSON;
 * - defaults + oneofs: every field present on decoded messages, and a
 *   virtual field naming the member set in each oneof.
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const satisfies Options;

/** The proto files, relative to the protos dir (import paths inside them are relative to it too). */
export const PROTO_FILES = ['pbk/v1/common.proto', 'pbk/v1/agent.proto', 'pbk/v1/operator.proto'] as const;

type V1 = AgentProto['pbk']['v1'] & OperatorProto['pbk']['v1'];

export interface Protocol {
  /** Where the .proto files were read from. */
  readonly protosDir: string;
  /** What @grpc/reflection describes; also usable with grpc-js directly. */
  readonly packageDefinition: PackageDefinition;
  /** Served alone on the enrollment listener (TLS, no client certificate). */
  readonly EnrollmentService: V1['EnrollmentService'];
  /** Served on the main listener (mutual TLS), role agent. */
  readonly AgentService: V1['AgentService'];
  /** Served on the main listener (mutual TLS), roles operator/admin/auditor. */
  readonly OperatorService: V1['OperatorService'];
}

let cached: Protocol | undefined;

/**
 * Loads (once per process) the pbk.v1 services. Pass `protosDir` to read the
 * protos from elsewhere; by default they are found next to this package.
 */
export function loadProtocol(options: { protosDir?: string } = {}): Protocol {
  if (options.protosDir === undefined && cached !== undefined) return cached;
  const protosDir = options.protosDir ?? findProtosDir();
  const packageDefinition = loadSync([...PROTO_FILES], { ...PROTO_LOADER_OPTIONS, includeDirs: [protosDir] });
  const v1 = (loadPackageDefinition(packageDefinition) as unknown as AgentProto & OperatorProto & GrpcObject).pbk.v1;
  const protocol: Protocol = {
    protosDir,
    packageDefinition,
    EnrollmentService: v1.EnrollmentService,
    AgentService: v1.AgentService,
    OperatorService: v1.OperatorService,
  };
  if (options.protosDir === undefined) cached = protocol;
  return protocol;
}

/** Fully qualified service names, as reflection and grpcurl show them. */
export const SERVICE_NAMES = {
  enrollment: 'pbk.v1.EnrollmentService',
  agent: 'pbk.v1.AgentService',
  operator: 'pbk.v1.OperatorService',
} as const;

/**
 * Turns on gRPC server reflection (v1 and v1alpha) so grpcurl can list and
 * call the services. Pass the services this listener really serves (the main
 * listener: agent and operator; the enrollment listener: enrollment), so
 * reflection never advertises a method the port would answer UNIMPLEMENTED.
 */
export function addReflection(
  server: Pick<Server, 'addService'>,
  services: readonly string[] = [SERVICE_NAMES.agent, SERVICE_NAMES.operator],
  protocol: Protocol = loadProtocol(),
): void {
  new ReflectionService(protocol.packageDefinition, { services: [...services] }).addToServer(server);
}

/**
 * The repository's protos/ dir, found from this file's location so it works
 * from src/ (vitest, tsx) and from dist/ alike. A `protos/` inside the package
 * wins, for a package that ships its own copy.
 */
export function findProtosDir(): string {
  const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const candidates = [join(packageDir, 'protos'), resolve(packageDir, '..', '..', 'protos')];
  const found = candidates.find((dir) => existsSync(join(dir, 'pbk', 'v1', 'agent.proto')));
  if (found === undefined) throw new Error(`pbk protos not found; looked in ${candidates.join(' and ')}`);
  return found;
}
