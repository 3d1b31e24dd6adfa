import { Counter, type ServiceMetrics } from '@heartguard/kit';

export interface UserMetrics {
  preferenceUpdates: Counter<'outcome'>;
  identityLookups: Counter<'outcome'>;
}

export function createUserMetrics(registry: ServiceMetrics['registry']): UserMetrics {
  return {
    preferenceUpdates: new Counter({
      name: 'user_preference_updates_total',
      help: 'PUT /users/me outcomes: updated, or conflict (stale If-Match)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    identityLookups: new Counter({
      name: 'user_identity_lookups_total',
      help: 'Identity lookups against auth: found, not_found, or unavailable (auth down, slow or answering errors)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}
