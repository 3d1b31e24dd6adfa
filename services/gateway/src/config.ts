import express from 'express';
import {
  ConfigError,
  loadCommonConfig,
  readInt,
  readList,
  readOptional,
  readRate,
  readString,
  readUrl,
  SERVICE_PORTS,
  SERVICE_URL_VARIABLES,
  type CommonConfig,
  type Env,
  type RateSpec,
} from '@heartguard/kit';
import type { Upstream } from './access-policy.js';

const UPSTREAMS: Upstream[] = ['auth', 'organization', 'user', 'media', 'timeseries', 'audit'];

/** Express "trust proxy" value: a hop count, or the addresses/CIDRs/names of trusted proxies. */
export type TrustProxy = false | number | string[];

export interface GatewayConfig {
  common: CommonConfig;
  upstreams: Record<Upstream, string>;
  upstreamTimeoutMs: number;
  upstreamMaxSockets: number;
  bodyLimitBytes: number;
  rateLimit: RateSpec;
  authRateLimit: RateSpec;
  rateLimitKeyPrefix: string;
  allowedOrigins: string[];
  trustProxy: TrustProxy;
}

function readUpstreams(env: Env): Record<Upstream, string> {
  const entries = UPSTREAMS.map((name) => {
    const variable = SERVICE_URL_VARIABLES[name];
    const url = readUrl(env, variable, `http://127.0.0.1:${SERVICE_PORTS[name]}`);
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:') throw new ConfigError(variable, 'must be an http:// URL (upstreams are on the internal network)');
    // The path is forwarded unchanged, so a base path on the upstream URL would silently be dropped.
    if (parsed.pathname !== '/' || parsed.search) throw new ConfigError(variable, 'must not carry a path or query');
    return [name, parsed.origin];
  });
  return Object.fromEntries(entries) as Record<Upstream, string>;
}

function readOrigins(env: Env): string[] {
  const origins = readList(env, 'ALLOWED_ORIGINS', ['http://localhost:3000']);
  for (const origin of origins) {
    if (origin === '*') throw new ConfigError('ALLOWED_ORIGINS', 'must list exact origins; "*" is not accepted');
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError('ALLOWED_ORIGINS', `contains "${origin}", which is not an origin like https://portal.example.com`);
    }
    // Browsers send the serialized origin; anything else (path, trailing slash) could never match.
    if (parsed.origin !== origin) throw new ConfigError('ALLOWED_ORIGINS', `contains "${origin}"; write it as ${parsed.origin}`);
  }
  return origins;
}

function readTrustProxy(env: Env): TrustProxy {
  const raw = readOptional(env, 'TRUST_PROXY');
  if (raw === undefined || /^(false|0)$/i.test(raw.trim())) return false;
  // "true" trusts every hop, which lets any client choose its own address (and rate-limit key).
  if (/^true$/i.test(raw.trim())) throw new ConfigError('TRUST_PROXY', 'must be a hop count or a list of proxy addresses, not "true"');
  const value: TrustProxy = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : readList(env, 'TRUST_PROXY');
  try {
    // Express compiles the setting eagerly, so an invalid address or CIDR fails here, at boot.
    express().set('trust proxy', value);
  } catch (err) {
    throw new ConfigError('TRUST_PROXY', `is invalid: ${err instanceof Error ? err.message : String(err)}`);
  }
  return value;
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return {
    common: loadCommonConfig('gateway', env),
    upstreams: readUpstreams(env),
    upstreamTimeoutMs: readInt(env, 'UPSTREAM_TIMEOUT_MS', 10_000, { min: 50, max: 300_000 }),
    upstreamMaxSockets: readInt(env, 'UPSTREAM_MAX_SOCKETS', 256, { min: 1, max: 65_536 }),
    bodyLimitBytes: readInt(env, 'GATEWAY_BODY_LIMIT_MB', 14, { min: 1, max: 1024 }) * 1024 * 1024,
    rateLimit: readRate(env, 'RATE_LIMIT', { limit: 100, windowSeconds: 60 }),
    authRateLimit: readRate(env, 'AUTH_RATE_LIMIT', { limit: 20, windowSeconds: 60 }),
    rateLimitKeyPrefix: readString(env, 'RATE_LIMIT_KEY_PREFIX', 'hg:rl:'),
    allowedOrigins: readOrigins(env),
    trustProxy: readTrustProxy(env),
  };
}
