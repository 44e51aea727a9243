/**
 * The plain-HTTP side: `/health` (JSON, 200 when the repository and the
 * catalog answer, 503 otherwise) and Prometheus `/metrics`. Nothing secret is
 * served here; bind it where your monitoring reaches (default loopback).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '@pbk/storage';

export interface HealthReport {
  ok: boolean;
  repository: { ok: boolean; detail?: string; blobs?: number; packs?: number };
  catalog: { ok: boolean; kind?: string; detail?: string };
}

export interface HttpHandlers {
  health(): Promise<HealthReport>;
  metrics(): Promise<string>;
}

export function createHttpServer(handlers: HttpHandlers, logger: Logger): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const reply = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const fail = (err: unknown): void => {
      logger.error({ path, err: (err as Error).message }, 'http handler failed');
      reply(500, 'text/plain; charset=utf-8', 'internal error; see the coordinator log\n');
    };
    if (path === '/health') {
      handlers.health().then((h) => reply(h.ok ? 200 : 503, 'application/json', JSON.stringify(h) + '\n'), fail);
    } else if (path === '/metrics') {
      handlers.metrics().then((text) => reply(200, 'text/plain; version=0.0.4; charset=utf-8', text), fail);
    } else {
      reply(404, 'text/plain; charset=utf-8', 'not found: try /health or /metrics\n');
    }
  });
}
