import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { bearerToken, createTokenVerifier } from '@heartguard/kit';

/**
 * The two comparison points of bench/gateway.ts, kept here so they compile against the
 * gateway's own express and http-proxy-middleware.
 */
export interface BenchTarget {
  url: string;
  stop(): Promise<void>;
}

function listen(app: express.Express): Promise<BenchTarget> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(0, '127.0.0.1', (err?: Error) => {
      if (err) return reject(err);
      server.keepAliveTimeout = 65_000;
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** A service stand-in: GET /users/me verifies the bearer with the kit verifier and returns a small JSON. */
export function startBenchUpstream(jwtSecret: string): Promise<BenchTarget> {
  const verifier = createTokenVerifier({ algorithm: 'HS256', secret: jwtSecret, issuer: 'heartguard-auth', audience: 'heartguard' });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/users/me', async (req, res) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) return void res.status(401).json({ error: { code: 'AUTH_002' } });
    try {
      const claims = await verifier.verify(token, 'access');
      res.json({ id: claims.sub, role: claims.role, org_id: claims.org_id, preferences: { theme: 'dark' } });
    } catch {
      res.status(401).json({ error: { code: 'AUTH_003' } });
    }
  });
  return listen(app);
}

/** Express 5 + http-proxy-middleware and nothing else, pooled like the gateway's upstream agent. */
export function startBareProxy(target: string): Promise<BenchTarget> {
  const app = express();
  app.disable('x-powered-by');
  app.use(createProxyMiddleware({ target, changeOrigin: true, agent: new Agent({ keepAlive: true, maxSockets: 256 }) }));
  return listen(app);
}
