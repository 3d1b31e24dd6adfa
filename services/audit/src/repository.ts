import type { DataSource } from 'typeorm';
import { createChainWriter } from './chain-writer.js';
import type { ChainedFields } from './hash-chain.js';

/** An event ready to be chained: masked, ids lowercased, timestamps canonical. */
export interface NewAuditEvent extends Omit<ChainedFields, 'seq' | 'recorded_at' | 'payload'> {
  payload: Record<string, unknown>;
}

/** A stored row: the chained fields plus the links of the chain. */
export interface StoredAuditEvent extends Omit<ChainedFields, 'payload'> {
  payload: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AppendResult {
  /** Ids stored by this call, in chain order. */
  recorded: string[];
  /** Ids already present (an earlier delivery) or repeated within the batch. */
  duplicates: string[];
  /** seq of the chain head after this call's rows were written (absent if none were). */
  headSeq?: string;
}

export interface EventFilter {
  orgId: string;
  service?: string;
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  /** Only rows with seq below this (the previous page's last seq). */
  beforeSeq?: string;
  limit: number;
}

export interface ChainRow extends ChainedFields {
  prev_hash: string;
  hash: string;
}

export interface AuditRepository {
  append(events: NewAuditEvent[]): Promise<AppendResult>;
  list(filter: EventFilter): Promise<StoredAuditEvent[]>;
  /** Rows in chain order with seq > afterSeq and seq <= upToSeq, in their hashed form. */
  readChain(afterSeq: string, upToSeq: string, limit: number): Promise<ChainRow[]>;
  head(): Promise<{ seq: string; hash: string } | undefined>;
}

const TABLE = 'heartguard_core.audit_events';
// seq leaves as text (bigint exceeds JS numbers in principle); ORDER BY must then name e.seq, the
// bigint column, not the text alias.
const COLUMNS = `e.seq::text AS seq, e.id::text AS id, e.service, e.actor, e.action, e.outcome, e.org_id::text AS org_id,
  e.request_id, e.payload, e.occurred_at, e.recorded_at, e.prev_hash, e.hash`;

interface Row extends Omit<StoredAuditEvent, 'occurred_at' | 'recorded_at'> {
  occurred_at: Date;
  recorded_at: Date;
}

const WHOLE_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}000$/;

/** "…12.345000" → "…12.345Z" (the hashed form); anything finer stays visible and fails the hash. */
function canonicalMicros(text: string): string {
  return WHOLE_MILLIS.test(text) ? `${text.slice(0, 23)}Z` : `${text}Z`;
}

function toStored(row: Row): StoredAuditEvent {
  return { ...row, occurred_at: row.occurred_at.toISOString(), recorded_at: row.recorded_at.toISOString() };
}

/**
 * The page query. Its seqs come from an index-only scan of the org-leading index that matches the
 * filters; only those rows are then fetched. Asked for whole rows at once, the planner may walk
 * the seq primary key instead and filter other organizations' rows on the way.
 */
export function buildListQuery(filter: EventFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [filter.orgId];
  const where = ['org_id = $1'];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.service !== undefined) add('service = ?', filter.service);
  if (filter.actor !== undefined) add('actor = ?', filter.actor);
  if (filter.action !== undefined) add('action = ?', filter.action);
  if (filter.from !== undefined) add('occurred_at >= ?::timestamptz', filter.from);
  if (filter.to !== undefined) add('occurred_at < ?::timestamptz', filter.to);
  if (filter.beforeSeq !== undefined) add('seq < ?::bigint', filter.beforeSeq);
  params.push(filter.limit);
  return {
    sql: `SELECT ${COLUMNS} FROM ${TABLE} e
            JOIN (SELECT seq FROM ${TABLE} WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}) page ON page.seq = e.seq
           ORDER BY e.seq DESC`,
    params,
  };
}

export function createAuditRepository(db: DataSource, options: { maxRowsPerTransaction?: number } = {}): AuditRepository {
  const writer = createChainWriter(db, options);
  return {
    append: (events) => writer.append(events),

    async list(filter) {
      const { sql, params } = buildListQuery(filter);
      const rows = (await db.query(sql, params)) as Row[];
      return rows.map(toStored);
    },

    async readChain(afterSeq, upToSeq, limit) {
      // Timestamps leave PostgreSQL already in the canonical text form (no Date round trip per
      // row), with microseconds so that a sub-millisecond edit cannot hide behind rounding.
      const rows = (await db.query(
        `SELECT e.seq::text AS seq, e.id::text AS id, e.service, e.actor, e.action, e.outcome, e.org_id::text AS org_id,
                e.request_id, e.payload, e.prev_hash, e.hash,
                to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS occurred_at,
                to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS recorded_at
           FROM ${TABLE} e WHERE e.seq > $1::bigint AND e.seq <= $2::bigint ORDER BY e.seq ASC LIMIT $3`,
        [afterSeq, upToSeq, limit],
      )) as ChainRow[];
      for (const row of rows) {
        row.occurred_at = canonicalMicros(row.occurred_at);
        row.recorded_at = canonicalMicros(row.recorded_at);
      }
      return rows;
    },

    async head() {
      const [row] = (await db.query(`SELECT e.seq::text AS seq, e.hash FROM ${TABLE} e ORDER BY e.seq DESC LIMIT 1`)) as Array<{ seq: string; hash: string }>;
      return row;
    },
  };
}
