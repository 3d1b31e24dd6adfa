import { Counter, type Platform } from '@heartguard/kit';
import type { AuthConfig } from './config.js';
import type { LoginGuard } from './login-guard.js';
import type { AuthRepository } from './repository.js';
import type { KeyRing } from './signing-keys.js';
import type { TokenIssuer } from './token-issuer.js';

export interface AuthMetrics {
  logins: Counter<'outcome'>;
  loginFailures: Counter<'reason'>;
  tokensIssued: Counter<'type'>;
  refreshReuse: Counter;
}

export function createAuthMetrics(platform: Platform): AuthMetrics {
  const registers = [platform.metrics.registry];
  return {
    logins: new Counter({ name: 'auth_logins_total', help: 'Login attempts by outcome', labelNames: ['outcome'] as const, registers }),
    loginFailures: new Counter({ name: 'auth_login_failures_total', help: 'Failed logins by reason', labelNames: ['reason'] as const, registers }),
    tokensIssued: new Counter({ name: 'auth_tokens_issued_total', help: 'Tokens issued by type', labelNames: ['type'] as const, registers }),
    refreshReuse: new Counter({ name: 'auth_refresh_reuse_total', help: 'Reuse of an already-rotated refresh token (family revoked)', registers }),
  };
}

export interface AuthDeps {
  platform: Platform;
  config: AuthConfig;
  repo: AuthRepository;
  keys: KeyRing;
  issuer: TokenIssuer;
  guard: LoginGuard;
  metrics: AuthMetrics;
}
