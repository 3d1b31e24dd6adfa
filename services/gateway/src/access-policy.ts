import { ROLES, type Role, type TokenClaims } from '@heartguard/kit';

/**
 * The one RBAC table of the mesh (SPEC §4/§5). Anything not listed here is answered 404 by the
 * gateway and never reaches a service; the owning service enforces the same rule again.
 */
export type Access = 'public' | 'authenticated' | readonly Role[] | 'service';
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Upstream = 'auth' | 'organization' | 'user' | 'media' | 'timeseries' | 'audit';
/** Which rate-limit bucket a route draws from; gateway-local probes are not limited. */
export type RateLimitClass = 'default' | 'auth' | 'none';

export interface PolicyRule {
  method: Method;
  /** Literal segments, `:name` for one segment, or a trailing `*` for one or more segments. */
  pattern: string;
  access: Access;
  /** Public route that still verifies (and forwards) a bearer when one is sent. */
  optionalAuth?: boolean;
  rateLimit?: RateLimitClass;
  /** Body media types accepted besides JSON and XML. */
  extraBodyTypes?: readonly string[];
  /** Answered in the gateway itself (health, readiness, metrics). */
  local?: boolean;
  /** False for /metrics: Prometheus text is served whatever the Accept header says. */
  negotiated?: boolean;
}

export const UPSTREAM_BY_PREFIX: Readonly<Record<string, Upstream>> = {
  auth: 'auth',
  organization: 'organization',
  users: 'user',
  media: 'media',
  timeseries: 'timeseries',
  audit: 'audit',
};

const ADMIN: readonly Role[] = ['admin'];
const ADMIN_OR_MANAGER: readonly Role[] = ['admin', 'manager'];

const probes = (prefix: string, local: boolean): PolicyRule[] =>
  (['health', 'ready', 'metrics'] as const).map((probe) => ({
    method: 'GET',
    pattern: `${prefix}/${probe}`,
    access: 'public',
    ...(local ? { local: true, rateLimit: 'none' as const } : {}),
    ...(probe === 'metrics' ? { negotiated: false } : {}),
  }));

export const ACCESS_POLICY: readonly PolicyRule[] = [
  ...probes('/gateway', true),
  // The service template mounts its probes at "/" too; load balancers and HEALTHCHECKs use them.
  ...probes('', true),
  ...Object.keys(UPSTREAM_BY_PREFIX).flatMap((prefix) => probes(`/${prefix}`, false)),

  { method: 'POST', pattern: '/auth/register', access: 'public', optionalAuth: true, rateLimit: 'auth' },
  { method: 'POST', pattern: '/auth/login', access: 'public', rateLimit: 'auth' },
  { method: 'POST', pattern: '/auth/refresh', access: 'public' },
  { method: 'GET', pattern: '/auth/.well-known/jwks.json', access: 'public' },
  { method: 'POST', pattern: '/auth/logout', access: 'authenticated' },
  { method: 'GET', pattern: '/auth/profile', access: 'authenticated' },
  { method: 'GET', pattern: '/auth/roles', access: 'authenticated' },
  { method: 'POST', pattern: '/auth/token/introspect', access: 'authenticated' },

  { method: 'GET', pattern: '/organization', access: 'authenticated' },
  { method: 'PUT', pattern: '/organization', access: ADMIN_OR_MANAGER },
  { method: 'GET', pattern: '/organization/policies', access: 'authenticated' },

  { method: 'GET', pattern: '/users/me', access: 'authenticated' },
  { method: 'PUT', pattern: '/users/me', access: 'authenticated' },
  { method: 'GET', pattern: '/users/:id', access: ADMIN },

  { method: 'POST', pattern: '/media/upload', access: 'authenticated' },
  { method: 'GET', pattern: '/media/items', access: 'authenticated' },
  { method: 'GET', pattern: '/media/items/:id/download', access: 'authenticated' },
  { method: 'DELETE', pattern: '/media/items/:id', access: ADMIN },
  // Signed download links: media checks the HMAC and expiry itself, the link is the credential.
  { method: 'GET', pattern: '/media/files/*', access: 'public' },

  { method: 'POST', pattern: '/timeseries/write', access: 'authenticated', extraBodyTypes: ['text/plain'] },
  { method: 'POST', pattern: '/timeseries/query', access: 'authenticated' },
  { method: 'GET', pattern: '/timeseries/buckets', access: 'authenticated' },
  { method: 'POST', pattern: '/timeseries/buckets', access: ADMIN_OR_MANAGER },
  { method: 'DELETE', pattern: '/timeseries/buckets/:bucket', access: ADMIN },

  { method: 'POST', pattern: '/audit/events', access: 'service' },
  { method: 'GET', pattern: '/audit/events', access: ADMIN },
  { method: 'GET', pattern: '/audit/verify', access: ADMIN },
];

export interface CompiledRoute {
  readonly method: Method;
  /** The pattern, used as the metrics `route` label and in logs. */
  readonly template: string;
  readonly access: Access;
  readonly optionalAuth: boolean;
  /** True when the route verifies a bearer token (protected, or optional auth). */
  readonly verifiesToken: boolean;
  readonly rateLimit: RateLimitClass;
  readonly bodyTypes: ReadonlySet<string>;
  readonly negotiated: boolean;
  readonly upstream: Upstream | undefined;
}

const JSON_AND_XML = ['application/json', 'application/xml', 'text/xml'];

function compileRule(rule: PolicyRule): CompiledRoute {
  const prefix = rule.pattern.split('/')[1] ?? '';
  const upstream = rule.local ? undefined : UPSTREAM_BY_PREFIX[prefix];
  if (!rule.local && !upstream) throw new Error(`Policy rule ${rule.method} ${rule.pattern} names no upstream`);
  return {
    method: rule.method,
    template: rule.pattern,
    access: rule.access,
    optionalAuth: rule.optionalAuth ?? false,
    verifiesToken: rule.access !== 'public' || rule.optionalAuth === true,
    rateLimit: rule.rateLimit ?? 'default',
    bodyTypes: new Set([...JSON_AND_XML, ...(rule.extraBodyTypes ?? [])]),
    negotiated: rule.negotiated ?? true,
    upstream,
  };
}

const SEGMENT_CHARS = /^[A-Za-z0-9._~-]+$/;

function patternRegex(pattern: string): RegExp {
  const parts = pattern.split('/').slice(1).map((segment, index, all) => {
    if (segment === '*') {
      if (index !== all.length - 1) throw new Error(`"*" must be the last segment in ${pattern}`);
      return '[^/]+(?:/[^/]+)*';
    }
    if (segment.startsWith(':')) return '[^/]+';
    if (!SEGMENT_CHARS.test(segment)) throw new Error(`Unexpected segment "${segment}" in ${pattern}`);
    return segment.replace(/\./g, '\\.');
  });
  return new RegExp(`^/${parts.join('/')}$`);
}

export interface AccessPolicy {
  /** The route a canonical path resolves to, or undefined (→ 404). HEAD resolves like GET. */
  resolve(method: string, path: string): CompiledRoute | undefined;
  readonly routes: readonly CompiledRoute[];
}

/** Compiles the table once: literal paths go in a map, patterned ones are tried in table order. */
export function compilePolicy(rules: readonly PolicyRule[] = ACCESS_POLICY): AccessPolicy {
  // Per method, then per path: no key string is built per request.
  const literal = new Map<string, Map<string, CompiledRoute>>();
  const patterned = new Map<string, Array<{ regex: RegExp; route: CompiledRoute }>>();
  const routes: CompiledRoute[] = [];
  for (const rule of rules) {
    const route = compileRule(rule);
    routes.push(route);
    const isPattern = rule.pattern.includes('/:') || rule.pattern.endsWith('/*');
    if (!isPattern) {
      const byPath = literal.get(rule.method) ?? new Map<string, CompiledRoute>();
      if (byPath.has(rule.pattern)) throw new Error(`Duplicate policy rule ${rule.method} ${rule.pattern}`);
      byPath.set(rule.pattern, route);
      literal.set(rule.method, byPath);
      continue;
    }
    const list = patterned.get(rule.method) ?? [];
    list.push({ regex: patternRegex(rule.pattern), route });
    patterned.set(rule.method, list);
  }
  return {
    routes,
    resolve(method, path) {
      const effective = method === 'HEAD' ? 'GET' : method;
      // Literal rules win over patterns, so /users/me never falls into the admin-only /users/:id.
      const exact = literal.get(effective)?.get(path);
      if (exact) return exact;
      const candidates = patterned.get(effective);
      if (!candidates) return undefined;
      for (const { regex, route } of candidates) if (regex.test(path)) return route;
      return undefined;
    },
  };
}

export type AccessDecision = 'allow' | 'unauthenticated' | 'forbidden';

const USER_ROLES: ReadonlySet<string> = new Set(ROLES);

/** RBAC for a resolved route and the caller's verified claims (undefined = anonymous). */
export function decideAccess(access: Access, claims: Pick<TokenClaims, 'role'> | undefined): AccessDecision {
  if (access === 'public') return 'allow';
  if (!claims) return 'unauthenticated';
  if (access === 'service') return claims.role === 'service' ? 'allow' : 'forbidden';
  // Service tokens are for service-to-service calls only, never for user routes.
  if (access === 'authenticated') return USER_ROLES.has(claims.role) ? 'allow' : 'forbidden';
  return (access as readonly string[]).includes(claims.role) ? 'allow' : 'forbidden';
}
