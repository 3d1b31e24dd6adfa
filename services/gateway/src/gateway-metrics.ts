import { Counter, Gauge, type Registry } from 'prom-client';

export interface GatewayMetrics {
  rateLimited: Counter<'scope'>;
  storeFallback: Counter;
  redisUp: Gauge;
  revocationUnchecked: Counter;
  upstreamErrors: Counter<'upstream' | 'kind'>;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    rateLimited: new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused with 429, by the bucket that was empty (ip, auth_ip, user)',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    storeFallback: new Counter({
      name: 'gateway_rate_limit_store_fallback_total',
      help: 'Requests rate-limited by the in-process fallback because Redis failed or was unreachable',
      registers: [registry],
    }),
    redisUp: new Gauge({
      name: 'gateway_redis_up',
      help: '1 while the shared rate-limit store (Redis) answers, 0 while the gateway limits per instance',
      registers: [registry],
    }),
    revocationUnchecked: new Counter({
      name: 'gateway_revocation_unchecked_total',
      help: 'Authenticated requests whose token revocation the gateway could not check (Redis down); the upstream re-checks',
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'gateway_upstream_errors_total',
      help: 'Proxied requests that failed at the upstream, by upstream and kind (unavailable, timeout, bad_gateway)',
      labelNames: ['upstream', 'kind'] as const,
      registers: [registry],
    }),
  };
}
