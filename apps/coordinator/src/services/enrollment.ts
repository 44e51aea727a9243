/**
 * EnrollmentService, served alone on the enrollment listener (TLS without a
 * client certificate). Enroll: token signature, expiry, CA pin and host
 * checked; the CSR signed as role agent for the token's host (the key never
 * leaves the agent); then, in one catalog transaction, the token's one-time
 * use recorded, the agent (re-)enrolled and an 'enroll' audit entry written.
 * A refused call burns nothing: the token is recorded only with a
 * certificate that is handed out.
 */
import { peerIdentity, signCsr, type v1 } from '@pbk/protocol';
import type { ServiceContext } from '../context.js';
import { checkNotRevoked, tokenHash, verifyToken } from '../enroll-token.js';
import { CoordinatorError } from '../errors.js';
import { unary } from '../handlers.js';

export function enrollmentService(ctx: ServiceContext): v1.EnrollmentServiceHandlers {
  const { catalog, auth, metrics, config, tls } = ctx;
  const log = ctx.logger;
  return {
    Enroll: unary(log, 'Enroll', async (call) => {
      const req = call.request;
      const payload = verifyToken(ctx.tokenKey, req.token, config.now);
      await checkNotRevoked(ctx.revokedTokensPath, payload);
      if (payload.f !== tls.caFingerprint) {
        throw new CoordinatorError('UNAUTHENTICATED', 'the enrollment token names another CA: it was issued by another coordinator; ask this one for a token');
      }
      if (req.host !== payload.h) {
        throw new CoordinatorError(
          'PERMISSION_DENIED',
          `the enrollment token was issued for another host, not ${JSON.stringify(req.host)}: enroll under the host name it was issued for, or ask for a token with --host ${req.host}`,
        );
      }
      if (typeof req.csrPem !== 'string' || req.csrPem.length === 0 || req.csrPem.length > 16 * 1024) {
        throw new CoordinatorError('INVALID_ARGUMENT', 'csr_pem must be a PEM PKCS#10 request of at most 16 KiB');
      }
      const certPem = await signCsr({ certPem: tls.caPem, keyPem: tls.caKeyPem }, req.csrPem, { role: 'agent', host: payload.h, validDays: config.agentCertValidDays });
      const cert = peerIdentity(certPem);
      const hash = tokenHash(req.token);
      const previous = await catalog.transaction(async (tx) => {
        await tx.tokens.redeemSigned(hash, payload.h, new Date(payload.e));
        const before = await tx.agents.get(payload.h);
        await tx.agents.enroll({
          host: payload.h,
          certSerial: cert.serial,
          certFingerprint: cert.fingerprint,
          certNotAfter: cert.notAfter,
          agentVersion: (req.agentVersion || 'unknown').slice(0, 128),
        });
        await tx.audit.append({
          actor: `agent:${payload.h}`,
          action: 'enroll',
          target: payload.h,
          details: { serial: cert.serial, fingerprint: cert.fingerprint, notAfter: cert.notAfter.toISOString(), token: hash.slice(0, 16), replaces: before?.certSerial },
        });
        return before;
      });
      if (previous !== undefined && previous.certSerial !== cert.serial) auth.revoke(previous.certSerial);
      metrics.enrollments++;
      log.info({ host: payload.h, serial: cert.serial, reenrolled: previous !== undefined }, 'agent enrolled');
      return { certPem, caPem: tls.caPem, host: payload.h, notAfterUnixMs: String(cert.notAfter.getTime()) };
    }),
  };
}
