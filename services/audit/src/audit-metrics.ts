import { Counter, Gauge, type ServiceMetrics } from '@heartguard/kit';

export interface AuditMetrics {
  recorded: Counter<'service'>;
  duplicates: Counter<'service'>;
  verifications: Counter<'result'>;
  headSeq: Gauge;
}

export function createAuditMetrics(registry: ServiceMetrics['registry']): AuditMetrics {
  return {
    recorded: new Counter({
      name: 'audit_events_recorded_total',
      help: 'Audit events appended to the chain, by producing service',
      labelNames: ['service'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'audit_events_duplicate_total',
      help: 'Audit events received again with an id already stored (redelivery), by producing service',
      labelNames: ['service'] as const,
      registers: [registry],
    }),
    verifications: new Counter({
      name: 'audit_chain_verifications_total',
      help: 'Hash chain verifications run through the API, by result (valid or broken)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    // Scraped into Prometheus, its history is a copy of the chain length kept outside the
    // database: rows cut from the tail (which the chain alone cannot show) make it go down.
    headSeq: new Gauge({
      name: 'audit_chain_head_seq',
      help: 'seq of the newest row of the audit hash chain, as last written or read by this instance',
      registers: [registry],
    }),
  };
}
