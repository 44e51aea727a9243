/**
 * Where the coordinator is, and why a connection to it failed. grpc-js reports
 * every transport failure as UNAVAILABLE ("No connection established"), which
 * cannot tell "the coordinator is down" (retry later) from "our certificates
 * are wrong" (fix the credentials). After such a failure the CLI repeats the
 * TLS handshake once by itself and reports which it was.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { UsageError } from './errors.js';

export interface Address {
  host: string;
  port: number;
  /** What grpc-js dials ("host:port", "[v6]:port"). */
  target: string;
}

/** HOST:PORT or [IPv6]:PORT. */
export function parseAddress(text: string): Address {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]*|\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || !(port >= 1 && port <= 65535) || (m[1] !== undefined && isIP(m[1]) !== 6)) {
    throw new UsageError(`coordinator address ${JSON.stringify(text)} is not HOST:PORT (e.g. backup-1.example:7443 or [::1]:7443)`);
  }
  return { host, port, target: m[1] !== undefined ? `[${host}]:${port}` : `${host}:${port}` };
}

export type Diagnosis =
  /** No TCP connection (refused, no route, DNS, timeout): the coordinator is down or the address wrong. */
  | { kind: 'unreachable'; detail: string }
  /** The coordinator's certificate does not verify against our ca.pem (or does not name the host we dialed). */
  | { kind: 'server-untrusted'; detail: string }
  /** Our handshake completed but the coordinator hung up at once: it refused our client certificate. */
  | { kind: 'client-rejected'; detail: string }
  /** The handshake and the coordinator's first HTTP/2 frame arrived: the failure was something else. */
  | { kind: 'ok' };

/**
 * One TLS handshake the way grpc-js does it (ALPN h2, our CA, our client
 * certificate), then waits for the server's first bytes (its HTTP/2 SETTINGS):
 * with TLS 1.3 a server that rejects the client certificate says so only
 * after the client considers the handshake done.
 */
export function diagnoseConnection(
  address: Address,
  creds: { caPem: string; certPem: string; keyPem: string },
  timeoutMs = 5000,
): Promise<Diagnosis> {
  return new Promise((resolve) => {
    let handshaken = false;
    const socket = connect({
      host: address.host,
      port: address.port,
      // Node refuses SNI with an IP address; names are checked against the certificate either way.
      servername: isIP(address.host) === 0 ? address.host : undefined,
      ca: creds.caPem,
      cert: creds.certPem,
      key: creds.keyPem,
      ALPNProtocols: ['h2'],
    });
    const finish = (d: Diagnosis): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(d);
    };
    const timer = setTimeout(
      () => finish(handshaken ? { kind: 'ok' } : { kind: 'unreachable', detail: `no TLS answer within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      handshaken = true;
    });
    socket.once('data', () => finish({ kind: 'ok' }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // An alert is the coordinator refusing us (TLS 1.2 sends it during the handshake, 1.3 after).
      if (handshaken || /ALERT/.test(err.code ?? '')) finish({ kind: 'client-rejected', detail: err.message });
      else if (isNetworkError(err)) finish({ kind: 'unreachable', detail: err.message });
      else finish({ kind: 'server-untrusted', detail: err.message });
    });
    socket.once('close', () => {
      finish(handshaken ? { kind: 'client-rejected', detail: 'the connection was closed right after the handshake' } : { kind: 'unreachable', detail: 'the connection was closed' });
    });
  });
}

/** Socket-level failures; anything else before the handshake completes is TLS verification. */
function isNetworkError(err: NodeJS.ErrnoException): boolean {
  return (
    typeof err.syscall === 'string' ||
    ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE'].includes(err.code ?? '')
  );
}
