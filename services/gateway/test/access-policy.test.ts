import { describe, expect, it } from 'vitest';
import type { Role } from '@heartguard/kit';
import { compilePolicy, decideAccess } from '../src/access-policy.js';

/**
 * The RBAC table written out by hand from SPEC §5 (not derived from the code): every route ×
 * caller × method. Outcomes: allow (proxied or answered), 401, 403, 404 (not in the table).
 */
type Caller = 'anonymous' | Role | 'service';
type Outcome = 'allow' | 401 | 403 | 404;
const CALLERS: Caller[] = ['anonymous', 'user', 'manager', 'admin', 'service'];

const PUBLIC: Outcome[] = ['allow', 'allow', 'allow', 'allow', 'allow'];
const ANY_USER: Outcome[] = [401, 'allow', 'allow', 'allow', 403];
const ADMIN_OR_MANAGER: Outcome[] = [401, 403, 'allow', 'allow', 403];
const ADMIN_ONLY: Outcome[] = [401, 403, 403, 'allow', 403];
const SERVICE_ONLY: Outcome[] = [401, 403, 403, 403, 'allow'];
const NOT_ROUTED: Outcome[] = [404, 404, 404, 404, 404];

const probes = (prefix: string) => ['health', 'ready', 'metrics'].map((p) => [`GET ${prefix}/${p}`, PUBLIC] as const);

const ROUTES: ReadonlyArray<readonly [string, Outcome[]]> = [
  ...probes('/gateway'),
  ...probes(''),
  ...['auth', 'organization', 'users', 'media', 'timeseries', 'audit'].flatMap((svc) => probes(`/${svc}`)),
  ['POST /auth/register', PUBLIC],
  ['POST /auth/login', PUBLIC],
  ['POST /auth/refresh', PUBLIC],
  ['GET /auth/.well-known/jwks.json', PUBLIC],
  ['POST /auth/logout', ANY_USER],
  ['GET /auth/profile', ANY_USER],
  ['GET /auth/roles', ANY_USER],
  ['POST /auth/token/introspect', ANY_USER],
  ['GET /organization', ANY_USER],
  ['PUT /organization', ADMIN_OR_MANAGER],
  ['GET /organization/policies', ANY_USER],
  ['GET /users/me', ANY_USER],
  ['PUT /users/me', ANY_USER],
  ['GET /users/6f1c2a54-0b7e-4c55-9a43-3d1e2f7b8c90', ADMIN_ONLY],
  ['POST /media/upload', ANY_USER],
  ['GET /media/items', ANY_USER],
  ['GET /media/items/6f1c2a54-0b7e-4c55-9a43-3d1e2f7b8c90/download', ANY_USER],
  ['DELETE /media/items/6f1c2a54-0b7e-4c55-9a43-3d1e2f7b8c90', ADMIN_ONLY],
  ['GET /media/files/org_1/user_2/abc-scan.png', PUBLIC],
  ['GET /media/files/k', PUBLIC],
  ['POST /timeseries/write', ANY_USER],
  ['POST /timeseries/query', ANY_USER],
  ['GET /timeseries/buckets', ANY_USER],
  ['POST /timeseries/buckets', ADMIN_OR_MANAGER],
  ['DELETE /timeseries/buckets/org_1_vitals', ADMIN_ONLY],
  ['POST /audit/events', SERVICE_ONLY],
  ['GET /audit/events', ADMIN_ONLY],
  ['GET /audit/verify', ADMIN_ONLY],
];

const UNROUTED_PATHS = [
  '/',
  '/auth',
  '/auth/internal/users/6f1c2a54-0b7e-4c55-9a43-3d1e2f7b8c90',
  '/auth/profile/extra',
  '/gateway',
  '/gateway/anything',
  '/users',
  '/users/me/preferences',
  '/users/a/b',
  '/media/files',
  '/media/items/a/b/download',
  '/media/items/x/download/extra',
  '/timeseries/buckets/a/b',
  '/audit',
  '/billing/health',
  '/Users/me',
  '/AUTH/login',
];

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

const policy = compilePolicy();

function outcomeFor(method: string, path: string, caller: Caller): Outcome {
  const route = policy.resolve(method, path);
  if (!route) return 404;
  const claims = caller === 'anonymous' ? undefined : { role: caller };
  const decision = decideAccess(route.access, claims);
  return decision === 'allow' ? 'allow' : decision === 'unauthenticated' ? 401 : 403;
}

describe('access policy table', () => {
  for (const [route, expected] of ROUTES) {
    const [method, path] = route.split(' ') as [string, string];
    it(`when ${route} is called by each role, then the outcome is ${expected.join('/')}`, () => {
      expect(CALLERS.map((caller) => outcomeFor(method, path, caller))).toEqual(expected);
    });
  }

  it('when a listed path is called with a method the table does not list, then every caller gets 404', () => {
    const listed = new Set(ROUTES.map(([route]) => route));
    for (const [route] of ROUTES) {
      const path = route.split(' ')[1]!;
      for (const method of METHODS) {
        if (listed.has(`${method} ${path}`)) continue;
        expect(CALLERS.map((caller) => outcomeFor(method, path, caller)), `${method} ${path}`).toEqual(NOT_ROUTED);
      }
    }
  });

  it('when a path is not in the table (internal routes, extra segments, other case), then every method is 404', () => {
    for (const path of UNROUTED_PATHS) {
      for (const method of METHODS) {
        expect(CALLERS.map((caller) => outcomeFor(method, path, caller)), `${method} ${path}`).toEqual(NOT_ROUTED);
      }
    }
  });

  it('when HEAD is used on a GET route, then it resolves like GET and other routes stay 404', () => {
    expect(policy.resolve('HEAD', '/users/me')?.template).toBe('/users/me');
    expect(policy.resolve('HEAD', '/audit/events')?.access).toEqual(['admin']);
    expect(policy.resolve('HEAD', '/auth/login')).toBeUndefined();
  });

  it('when every table route is covered by this test, then no route exists without an expectation', () => {
    const tested = new Set(ROUTES.map(([route]) => route.split(' ')[0] + ' ' + route.split(' ')[1]));
    for (const route of policy.routes) {
      const sample = [...tested].find((t) => {
        const [m, p] = t.split(' ') as [string, string];
        return m === route.method && policy.resolve(m, p) === route;
      });
      expect(sample, `${route.method} ${route.template}`).toBeDefined();
    }
  });

  it('when routes resolve, then the metrics label is the template, never the raw path', () => {
    expect(policy.resolve('GET', '/users/123')?.template).toBe('/users/:id');
    expect(policy.resolve('GET', '/users/me')?.template).toBe('/users/me');
    expect(policy.resolve('GET', '/media/files/a/b/c')?.template).toBe('/media/files/*');
    expect(policy.resolve('DELETE', '/timeseries/buckets/x')?.template).toBe('/timeseries/buckets/:bucket');
  });

  it('when a route is special (login limits, optional auth, line protocol, local probes), then the table says so', () => {
    expect(policy.resolve('POST', '/auth/login')?.rateLimit).toBe('auth');
    expect(policy.resolve('POST', '/auth/register')).toMatchObject({ rateLimit: 'auth', optionalAuth: true, verifiesToken: true });
    expect(policy.resolve('POST', '/auth/refresh')).toMatchObject({ rateLimit: 'default', verifiesToken: false });
    expect(policy.resolve('POST', '/timeseries/write')?.bodyTypes.has('text/plain')).toBe(true);
    expect(policy.resolve('POST', '/timeseries/query')?.bodyTypes.has('text/plain')).toBe(false);
    expect(policy.resolve('GET', '/gateway/health')).toMatchObject({ upstream: undefined, rateLimit: 'none' });
    expect(policy.resolve('GET', '/users/health')).toMatchObject({ upstream: 'user', rateLimit: 'default' });
    expect(policy.resolve('GET', '/auth/metrics')?.negotiated).toBe(false);
  });
});
