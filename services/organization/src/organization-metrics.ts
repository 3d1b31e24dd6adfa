import { Counter, type ServiceMetrics } from '@heartguard/kit';

export type UpdateOutcomeLabel = 'updated' | 'unchanged' | 'conflict';

export interface OrganizationMetrics {
  updates: Counter<'outcome'>;
}

export function createOrganizationMetrics(registry: ServiceMetrics['registry']): OrganizationMetrics {
  return {
    updates: new Counter({
      name: 'organization_updates_total',
      help: 'PUT /organization outcomes: updated, unchanged (no field differed) or conflict (stale version)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}
