/**
 * Who is calling, and may they. The TLS handshake already refused clients
 * without a certificate from our CA (requireClientCert); here the pbk identity
 * is read from the verified certificate, the role checked, and serials that
 * were revoked or superseded by a re-enrollment refused. The revoked set is
 * loaded from the catalog at start and kept current by this process, so the
 * check costs no query per call.
 */
import { authorize, UnauthenticatedError, type CallWithAuthContext, type PeerIdentity, type Role } from '@pbk/protocol';

export const READ_ROLES: readonly Role[] = ['auditor', 'operator', 'admin'];
export const OPERATE_ROLES: readonly Role[] = ['operator', 'admin'];

export interface AgentIdentity extends PeerIdentity {
  host: string;
}

export class Authorizer {
  readonly #revoked = new Set<string>();

  constructor(revokedSerials: Iterable<string> = []) {
    for (const s of revokedSerials) this.#revoked.add(s);
  }

  /** Refuse this serial from now on (a re-enrollment superseded it, or it was revoked). */
  revoke(serial: string): void {
    this.#revoked.add(serial);
  }

  check(call: CallWithAuthContext, roles: readonly Role[]): PeerIdentity {
    const identity = authorize(call, roles);
    if (this.#revoked.has(identity.serial)) {
      throw new UnauthenticatedError(
        `client certificate ${identity.serial} was revoked or replaced by a newer enrollment: use the newest certificate, or enroll again with a new token`,
      );
    }
    return identity;
  }

  agent(call: CallWithAuthContext): AgentIdentity {
    const identity = this.check(call, ['agent']);
    // peerIdentity guarantees a host for role agent; keep the type honest anyway.
    if (identity.host === undefined) throw new UnauthenticatedError('agent certificate without a host');
    return identity as AgentIdentity;
  }
}

/** The audit log's actor for an identity: "agent:web-1", "admin:pbk-admin". */
export function actorOf(identity: PeerIdentity): string {
  return identity.role === 'agent' ? `agent:${identity.host}` : `${identity.role}:${identity.commonName || identity.serial}`;
}
