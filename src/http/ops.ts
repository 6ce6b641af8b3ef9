// The operators' doors: GET /metrics (Prometheus, optionally behind a bearer token) and the queue dashboard at /admin/queues.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

/** Equal tokens, compared in constant time whatever their lengths (both are hashed to 32 bytes first). */
export function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function bearer(req: Request): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1]?.trim();
}

/** The password of HTTP basic auth (the user name is ignored): what a browser sends after its login prompt. */
function basicPassword(req: Request): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** GET /metrics: open when no token is configured, else only with `Authorization: Bearer <token>`. */
export function metricsHandler(metrics: Metrics, token: string | undefined, log: Logger): RequestHandler {
  return async (req: Request, res: Response) => {
    if (token !== undefined && !sameToken(bearer(req), token)) {
      res.status(401).set('www-authenticate', 'Bearer realm="scicomp metrics"').json({ error: 'a valid bearer token is required (METRICS_TOKEN)' });
      return;
    }
    try {
      const text = await metrics.text();
      res.status(200).set('content-type', metrics.contentType).send(text);
    } catch (err) {
      log.warn({ err }, 'metrics could not be collected');
      res.status(500).json({ error: 'metrics could not be collected' });
    }
  };
}

/** The dashboard's gate: the admin token as a bearer token, or as the password of a browser's basic-auth prompt. */
export function requireAdminToken(token: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (sameToken(bearer(req), token) || sameToken(basicPassword(req), token)) return next();
    res.status(401).set('www-authenticate', 'Basic realm="scicomp queues", charset="UTF-8"').json({ error: 'the admin token is required (ADMIN_TOKEN): as a bearer token, or as the password' });
  };
}

/** Bull Board over the app's queues, mounted at QUEUE_BOARD_PATH; read-only unless `writable`. */
export function queueBoard(queues: Queue[], writable: boolean): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !writable })),
    // @bull-board/express pins its own copy of @bull-board/api one patch behind ours: the same shapes, two declarations.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'scicomp queues' } },
  });
  return serverAdapter.getRouter() as RequestHandler;
}
