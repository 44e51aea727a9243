/** HOST:PORT as the agent dials it (the same rules as the pbk CLI). */
import { isIP } from 'node:net';

export interface Address {
  host: string;
  port: number;
  /** What grpc-js dials ("host:port", "[v6]:port"). */
  target: string;
}

/** Parses HOST:PORT or [IPv6]:PORT; returns undefined when it is neither. */
export function parseAddress(text: string): Address | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]*|\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || !(port >= 1 && port <= 65535) || (m[1] !== undefined && isIP(m[1]) !== 6)) return undefined;
  return { host, port, target: m[1] !== undefined ? `[${host}]:${port}` : `${host}:${port}` };
}

export const ADDRESS_HINT = 'HOST:PORT, e.g. backup-1.example:7443 or [::1]:7443';
