import { GENESIS_HASH, hashRow } from './hash-chain.js';
import type { AuditRepository } from './repository.js';

export interface ChainVerification {
  valid: boolean;
  /** Rows whose links were checked (up to and including the first broken one). */
  checked: number;
  first_broken_seq?: number;
  reason?: string;
  /** The head at the start of the run: record it elsewhere to detect later truncation of the tail. */
  last_seq: number | null;
  head_hash: string | null;
  duration_ms: number;
}

/**
 * Recomputes the whole chain (it is global across organizations) from the first row to the
 * head as it stood when the run began, reading chunkSize rows per query so memory stays flat
 * at millions of rows. Stops at the first broken link and says why:
 *   - a missing seq: a row was deleted;
 *   - prev_hash differs from the previous row's hash: rows were deleted, reordered or re-linked;
 *   - hash differs from the recomputed one: the row's content was changed.
 */
export async function verifyChain(repository: AuditRepository, chunkSize: number): Promise<ChainVerification> {
  const started = Date.now();
  const head = await repository.head();
  const done = (result: Omit<ChainVerification, 'duration_ms' | 'last_seq' | 'head_hash'>): ChainVerification => ({
    ...result,
    last_seq: head ? Number(head.seq) : null,
    head_hash: head?.hash ?? null,
    duration_ms: Date.now() - started,
  });
  if (!head) return done({ valid: true, checked: 0 });

  let expectedSeq = 1n;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  let after = '0';
  for (;;) {
    const rows = await repository.readChain(after, head.seq, chunkSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      checked += 1;
      const seq = BigInt(row.seq);
      if (seq !== expectedSeq) {
        const missing = seq - expectedSeq === 1n ? `${expectedSeq}` : `${expectedSeq}..${seq - 1n}`;
        return done({ valid: false, checked, first_broken_seq: Number(expectedSeq), reason: `row(s) ${missing} missing (deleted)` });
      }
      if (row.prev_hash !== prevHash) {
        return done({ valid: false, checked, first_broken_seq: Number(seq), reason: 'prev_hash does not match the previous row\'s hash' });
      }
      if (hashRow(row.prev_hash, row) !== row.hash) {
        return done({ valid: false, checked, first_broken_seq: Number(seq), reason: 'hash does not match the row\'s content (row modified)' });
      }
      prevHash = row.hash;
      expectedSeq = seq + 1n;
    }
    after = rows.at(-1)!.seq;
  }
  // The head's seq was read first; if rows at the end vanished meanwhile, say so.
  if (expectedSeq - 1n !== BigInt(head.seq)) {
    return done({ valid: false, checked, first_broken_seq: Number(expectedSeq), reason: `rows after ${expectedSeq - 1n} missing` });
  }
  return done({ valid: true, checked });
}
