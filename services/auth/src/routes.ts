import { Router, type Request } from 'express';
import { authenticate, Errors, readBody, requireRole, respond, validateBody, ROLES, type TokenClaims, isUuid } from '@heartguard/kit';
import type { AuthDeps } from './deps.js';
import { AuthErrors } from './errors.js';
import { introspectToken } from './introspect-token.js';
import type { UserRecord } from './repository.js';
import { registerAccount } from './register-account.js';
import { closeSession, openSession, rotateRefreshToken } from './sessions.js';

const ROLE_DESCRIPTIONS: Record<string, string> = {
  admin: 'Full control of the organization: users, media deletion, audit trail',
  manager: 'Manages the organization profile and time-series buckets',
  user: 'Uses the apps: own profile, uploads, time-series data',
};


/** The identity resource (profile and internal lookups); the password hash never leaves. */
function toIdentity(user: UserRecord) {
  return {
    id: user.id,
    email: user.email,
    full_name: user.fullName,
    role: user.role,
    org_id: user.orgId,
    created_at: user.createdAt.toISOString(),
  };
}

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function authRoutes(deps: AuthDeps): Router {
  const { platform } = deps;
  const router = Router();
  const body = readBody({ limitBytes: platform.config.bodyLimitBytes });
  const schema = (name: string) => validateBody(platform.schemas, `auth#/definitions/${name}`);
  const signedIn = authenticate(platform.authenticator);

  router.post('/auth/register', authenticate(platform.authenticator, { required: false }), body, schema('registerRequest'), async (req, res) => {
    respond(res, 201, { root: 'RegisterResponse' }, await registerAccount(deps, req.body, req.auth));
  });

  router.post('/auth/login', body, schema('loginRequest'), async (req, res) => {
    respond(res, 200, { root: 'LoginResponse' }, await openSession(deps, req.body, clientIp(req)));
  });

  router.post('/auth/refresh', body, schema('refreshRequest'), async (req, res) => {
    respond(res, 200, { root: 'LoginResponse' }, await rotateRefreshToken(deps, req.body.refresh_token));
  });

  router.post('/auth/logout', signedIn, body, async (req, res) => {
    if (req.auth!.typ !== 'access') throw Errors.forbidden();
    await closeSession(deps, req.auth as TokenClaims & { sid?: string });
    respond(res, 200, { root: 'LogoutResponse' }, { revoked: true });
  });

  router.get('/auth/profile', signedIn, async (req, res) => {
    const user = await deps.repo.findUserById(req.auth!.sub);
    if (!user) throw AuthErrors.userNotFound();
    respond(res, 200, { root: 'Profile' }, toIdentity(user));
  });

  router.get('/auth/roles', signedIn, (_req, res) => {
    respond(res, 200, { root: 'Roles' }, { roles: ROLES.map((name) => ({ name, description: ROLE_DESCRIPTIONS[name] })) });
  });

  router.post('/auth/token/introspect', signedIn, body, schema('introspectRequest'), async (req, res) => {
    respond(res, 200, { root: 'IntrospectionResponse' }, await introspectToken(deps, req.body.token));
  });

  router.get('/auth/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    respond(res, 200, { root: 'JWKS', itemNames: { keys: 'key' } }, { keys: deps.keys.jwks() });
  });

  // Identity lookups for other services (user service); never routed by the gateway.
  router.get('/auth/internal/users/:id', signedIn, requireRole('service'), async (req, res) => {
    const id = String(req.params.id);
    const user = isUuid(id) ? await deps.repo.findUserById(id) : undefined;
    if (!user) throw AuthErrors.userNotFound();
    respond(res, 200, { root: 'UserIdentity' }, toIdentity(user));
  });

  return router;
}
