import type { Server } from 'node:http';
import {
  authenticate,
  createAuthenticator,
  createLogger,
  createMetrics,
  createServiceApp,
  createTokenVerifier,
  finishApp,
  listen,
  memoryRevocationStore,
  requireRole,
  respond,
  Errors,
} from '@heartguard/kit';
import type { Identity } from '../src/identity-client.js';

export interface FakeAuth {
  url: string;
  users: Map<string, Identity>;
  /** Headers of each identity lookup received, for asserting what the user service sent. */
  lookups: Array<Record<string, string | string[] | undefined>>;
  /** Delay before answering lookups (to exercise the client's timeout). */
  delayMs: number;
  /** When set, lookups answer this status with an empty JSON object (to exercise error mapping). */
  failWith: number | undefined;
  stop(): Promise<void>;
}

/**
 * A stand-in for auth's GET /auth/internal/users/:id with the same contract: service tokens
 * only (verified with the kit authenticator; user tokens get 403), 200 identity or 404 envelope.
 */
export async function startFakeAuth(): Promise<FakeAuth> {
  const logger = createLogger({ service: 'auth', level: 'silent' });
  const authenticator = createAuthenticator({
    users: createTokenVerifier({ algorithm: 'HS256', secret: process.env.JWT_SECRET!, issuer: 'heartguard-auth', audience: 'heartguard' }),
    revocations: memoryRevocationStore(),
    serviceSecret: process.env.SERVICE_TOKEN_SECRET!,
  });
  const { app, router } = createServiceApp({ service: 'auth', prefix: 'auth', logger, metrics: createMetrics('auth'), readiness: {} });
  const fake: FakeAuth = {
    url: '',
    users: new Map(),
    lookups: [],
    delayMs: 0,
    failWith: undefined,
    stop: async () => undefined,
  };
  router.get('/auth/internal/users/:id', authenticate(authenticator), requireRole('service'), async (req, res) => {
    fake.lookups.push({ ...req.headers });
    if (fake.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.delayMs));
    if (fake.failWith) {
      res.status(fake.failWith).json({});
      return;
    }
    const user = fake.users.get(String(req.params.id));
    if (!user) throw Errors.notFound('User not found');
    respond(res, 200, { root: 'UserIdentity' }, user);
  });
  finishApp(app, logger);
  const server: Server = await listen(app, '127.0.0.1', 0);
  const address = server.address();
  fake.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  fake.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
