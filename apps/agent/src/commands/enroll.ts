/**
 * `pbk-agent enroll --coordinator HOST:PORT --token TOKEN|- --state DIR [--force]`
 *
 * Exchanges a one-time enrollment token for a client certificate
 * (docs/agent-coordinator.md, "Agent state directory"): pins the coordinator's
 * CA by the fingerprint in the token (fetchPinnedCa on the token's enrollment
 * port), creates the key and CSR here (the key never leaves the host), calls
 * EnrollmentService.Enroll, and writes the state dir. The token may come on
 * stdin (`--token -`) or in PBK_ENROLL_TOKEN so it need not appear in argv.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { certificateFingerprint, channelCredentials, clientChannelOptions, createKeyAndCsr, DEADLINES, fetchPinnedCa, fromGrpcStatus, loadProtocol, peerIdentity, type v1 } from '@pbk/protocol';
import { ADDRESS_HINT, parseAddress } from '../address.js';
import { AgentError, StateError, UsageError } from '../errors.js';
import { hasState, writeState } from '../state.js';
import { parseEnrollmentToken } from '../token.js';
import { AGENT_VERSION } from '../version.js';
import type { AgentCommand } from './command.js';

export const TOKEN_ENV = 'PBK_ENROLL_TOKEN';

export const enrollCommand: AgentCommand = {
  name: 'enroll',
  summary: 'exchange a one-time token for this host\'s client certificate',
  usage: 'pbk-agent enroll --coordinator HOST:PORT --token -|TOKEN --state DIR [--force]',
  flags: {
    coordinator: { type: 'string', value: 'HOST:PORT', description: "the coordinator's main (mutual TLS) listener", required: true },
    token: { type: 'string', value: '-|TOKEN', description: `the token from 'pbk-coordinator token'; - reads it from stdin; default: $${TOKEN_ENV}` },
    state: { type: 'string', value: 'DIR', description: 'where to write ca.pem, agent.pem, agent.key (0600), agent.json', required: true },
    force: { type: 'boolean', description: 'replace an existing enrollment in DIR' },
  },
  async run(io, flags) {
    const address = parseAddress(String(flags.coordinator));
    if (address === undefined) throw new UsageError(`--coordinator must be ${ADDRESS_HINT}`);
    const stateDir = resolve(String(flags.state));

    let tokenText: string | undefined;
    if (flags.token === '-') tokenText = await io.readStdin();
    else if (typeof flags.token === 'string') {
      tokenText = flags.token;
      io.stderr(`pbk-agent: note: a token on the command line is visible to other users (ps); prefer --token - or $${TOKEN_ENV}\n`);
    } else tokenText = io.env[TOKEN_ENV];
    if (tokenText === undefined || tokenText.trim() === '') {
      throw new UsageError(`no enrollment token: pipe it in with --token - or set ${TOKEN_ENV}`);
    }
    const token = parseEnrollmentToken(tokenText, io.clock.now);

    if ((await hasState(stateDir)) && flags.force !== true) {
      throw new StateError(stateDir, `${stateDir} already holds an enrollment; pass --force to replace it (the old certificate stops being used)`, { code: 'ALREADY_EXISTS' });
    }

    // Trust comes from the token: only the CA whose fingerprint it carries is accepted.
    const caPem = await fetchPinnedCa({ host: address.host, port: token.enrollPort, fingerprint: token.caFingerprint });
    const { keyPem, csrPem } = await createKeyAndCsr({ commonName: token.host });

    const { EnrollmentService } = loadProtocol();
    const enrollTarget = address.target.startsWith('[') ? `[${address.host}]:${token.enrollPort}` : `${address.host}:${token.enrollPort}`;
    const client = new EnrollmentService(enrollTarget, channelCredentials({ caPem }), clientChannelOptions()) as unknown as v1.EnrollmentServiceClient;
    let res: v1.EnrollResponse__Output;
    try {
      res = await new Promise<v1.EnrollResponse__Output>((resolvePromise, reject) => {
        client.enroll(
          { token: token.text, csrPem, host: token.host, agentVersion: AGENT_VERSION },
          { deadline: new Date(io.clock.now() + DEADLINES.enroll) },
          (err: ServiceError | null, value?: v1.EnrollResponse__Output) => {
            if (err) reject(fromGrpcStatus(err));
            else if (!value) reject(new AgentError('INTERNAL', 'Enroll answered nothing'));
            else resolvePromise(value);
          },
        );
      });
    } finally {
      client.close();
    }

    // Check what came back before writing anything.
    if (res.caPem && certificateFingerprint(res.caPem) !== token.caFingerprint) {
      throw new AgentError('UNAUTHENTICATED', 'the coordinator answered with a CA other than the one the token names; not enrolling');
    }
    let identity;
    try {
      identity = peerIdentity(res.certPem);
    } catch (err) {
      throw new AgentError('INTERNAL', 'the coordinator returned a certificate without a pbk identity', { cause: err });
    }
    if (identity.role !== 'agent' || identity.host !== token.host) {
      throw new AgentError('INTERNAL', `the coordinator returned a certificate for ${identity.role} ${identity.host ?? ''}, not agent ${token.host}`);
    }
    if (!new X509Certificate(res.certPem).checkPrivateKey(createPrivateKey(keyPem))) {
      throw new AgentError('INTERNAL', 'the coordinator returned a certificate for another key');
    }

    await writeState({ dir: stateDir, host: token.host, coordinator: address.target, caPem, certPem: res.certPem, keyPem });
    io.stdout(`${JSON.stringify({ enrolled: token.host, state: stateDir, coordinator: address.target, notAfter: identity.notAfter.toISOString() })}\n`);
    return 0;
  },
};
