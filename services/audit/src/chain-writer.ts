import type { DataSource } from 'typeorm';
import { linkAfter, prepareLink } from './hash-chain.js';
import type { AppendResult, NewAuditEvent } from './repository.js';

const TABLE = 'heartguard_core.audit_events';
// One key for the whole chain: every append in every audit replica queues on it.
export const CHAIN_LOCK_KEY = 727_006;
const LOCK_TIMEOUT = '10s';

export function pgCode(err: unknown): string | undefined {
  return (err as { code?: string })?.code ?? (err as { driverError?: { code?: string } })?.driverError?.code;
}

async function existingIds(db: DataSource, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = (await db.query(`SELECT id::text AS id FROM ${TABLE} WHERE id = ANY($1::uuid[])`, [ids])) as Array<{ id: string }>;
  return new Set(rows.map((r) => r.id));
}

type ReadyEvent = NewAuditEvent & { recorded_at: string };

/**
 * Appends rows at the chain head in one transaction. The advisory lock serialises appends so the
 * head read here is the true head and the chain never forks, across audit replicas too. Only
 * the hashing, which needs the head, happens inside; the rows' JSON is built before the lock.
 */
async function insertChained(db: DataSource, events: ReadyEvent[]): Promise<string> {
  const prepared = events.map(prepareLink);
  const rowsJson = JSON.stringify(events);
  const runner = db.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`BEGIN; SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'; SELECT pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`);
    const [head] = (await runner.query(`SELECT e.seq::text AS seq, e.hash FROM ${TABLE} e ORDER BY e.seq DESC LIMIT 1`)) as Array<{
      seq: string;
      hash: string;
    }>;
    const links = linkAfter(head, prepared);
    // Plain INSERT, not ON CONFLICT DO NOTHING: a silently skipped row would leave the next row
    // pointing at a hash that is not in the table. A conflict aborts the whole append instead.
    // ROWS FROM zips the rows with their hashes; WITH ORDINALITY numbers them in array order.
    await runner.query(
      `INSERT INTO ${TABLE} (seq, id, service, actor, action, outcome, org_id, request_id, payload, occurred_at, recorded_at, prev_hash, hash)
       SELECT $2::bigint + r.ord - 1, r.id, r.service, r.actor, r.action, r.outcome, r.org_id, r.request_id, r.payload,
              r.occurred_at, r.recorded_at, r.prev_hash, r.hash
         FROM ROWS FROM (
                jsonb_to_recordset($1::jsonb) AS (id uuid, service text, actor text, action text, outcome text, org_id uuid,
                  request_id text, payload jsonb, occurred_at timestamptz, recorded_at timestamptz),
                unnest($3::text[]),
                unnest($4::text[])
              ) WITH ORDINALITY AS r(id, service, actor, action, outcome, org_id, request_id, payload, occurred_at, recorded_at, prev_hash, hash, ord)`,
      [rowsJson, links.firstSeq.toString(), links.prevHashes, links.hashes],
    );
    await runner.query('COMMIT');
    return (links.firstSeq + BigInt(events.length - 1)).toString();
  } catch (err) {
    await runner.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await runner.release();
  }
}

interface Waiting {
  events: NewAuditEvent[];
  duplicates: string[];
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

export interface ChainWriter {
  append(events: NewAuditEvent[]): Promise<AppendResult>;
}

/**
 * Group commit for the chain. Every append holds the chain lock through its commit (and the WAL
 * flush that comes with it), so one transaction per request would cap a replica at a few dozen
 * small batches per second. Requests are instead queued and written by one loop, several per
 * transaction (up to maxRowsPerTransaction rows); each caller gets its own share of the result.
 * Ids are deduplicated before queueing (within the request and against the table, in parallel).
 */
export function createChainWriter(db: DataSource, { maxRowsPerTransaction = 5000 } = {}): ChainWriter {
  const queue: Waiting[] = [];
  let draining = false;

  async function writeGroup(group: Waiting[]): Promise<void> {
    const recordedAt = new Date().toISOString();
    for (let attempt = 1; ; attempt++) {
      // Two requests of one group may carry the same id: the first one records it.
      const seen = new Set<string>();
      const fresh: ReadyEvent[] = [];
      const recorded = group.map(() => [] as string[]);
      const repeated = group.map(() => [] as string[]);
      group.forEach((waiting, i) => {
        for (const event of waiting.events) {
          if (seen.has(event.id)) repeated[i]!.push(event.id);
          else {
            seen.add(event.id);
            fresh.push({ ...event, recorded_at: recordedAt });
            recorded[i]!.push(event.id);
          }
        }
      });
      try {
        const headSeq = fresh.length > 0 ? await insertChained(db, fresh) : undefined;
        group.forEach((waiting, i) =>
          waiting.resolve({ recorded: recorded[i]!, duplicates: [...waiting.duplicates, ...repeated[i]!], ...(headSeq ? { headSeq } : {}) }),
        );
        return;
      } catch (err) {
        // An id committed by another replica between the lookup and the lock: look again.
        if (attempt >= 3 || pgCode(err) !== '23505') throw err;
        const known = await existingIds(db, [...seen]);
        for (const waiting of group) {
          waiting.duplicates.push(...waiting.events.filter((e) => known.has(e.id)).map((e) => e.id));
          waiting.events = waiting.events.filter((e) => !known.has(e.id));
        }
      }
    }
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (queue.length > 0) {
        const group: Waiting[] = [];
        let rows = 0;
        while (queue.length > 0 && (group.length === 0 || rows + queue[0]!.events.length <= maxRowsPerTransaction)) {
          const next = queue.shift()!;
          group.push(next);
          rows += next.events.length;
        }
        await writeGroup(group).catch((err: unknown) => group.forEach((waiting) => waiting.reject(err)));
      }
    } finally {
      draining = false;
    }
  }

  return {
    async append(events) {
      const duplicates: string[] = [];
      const unique = new Map<string, NewAuditEvent>();
      for (const event of events) {
        if (unique.has(event.id)) duplicates.push(event.id);
        else unique.set(event.id, event);
      }
      const known = await existingIds(db, [...unique.keys()]);
      for (const id of known) {
        unique.delete(id);
        duplicates.push(id);
      }
      if (unique.size === 0) return { recorded: [], duplicates };
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ events: [...unique.values()], duplicates, resolve, reject });
        if (!draining) void drain();
      });
    },
  };
}
