import type { ServiceMetrics } from '@heartguard/kit';
import { Counter, Histogram } from 'prom-client';

export interface TimeseriesMetrics {
  pointsWritten: Counter<'store'>;
  writeBatches: Counter<'store' | 'outcome'>;
  queries: Counter<'aggregate' | 'outcome'>;
  queryLatency: Histogram<'aggregate'>;
}

export function createTimeseriesMetrics(metrics: ServiceMetrics): TimeseriesMetrics {
  const registers = [metrics.registry];
  return {
    pointsWritten: new Counter({
      name: 'timeseries_points_written_total',
      help: 'Points stored by POST /timeseries/write, by backend store',
      labelNames: ['store'] as const,
      registers,
    }),
    writeBatches: new Counter({
      name: 'timeseries_write_batches_total',
      help: 'Write batches handled, by backend store and outcome (ok, rejected, failed)',
      labelNames: ['store', 'outcome'] as const,
      registers,
    }),
    queries: new Counter({
      name: 'timeseries_queries_total',
      help: 'Series queries handled, by aggregate function (none for raw points) and outcome',
      labelNames: ['aggregate', 'outcome'] as const,
      registers,
    }),
    queryLatency: new Histogram({
      name: 'timeseries_query_duration_seconds',
      help: 'Time spent in the backend store answering series queries',
      labelNames: ['aggregate'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}
