import { createHash } from 'node:crypto';

/** prev_hash of the first row: there is nothing before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of a row that its hash covers, in the exact form they round-trip through PostgreSQL. */
export interface ChainedFields {
  seq: string;
  id: string;
  service: string;
  actor: string;
  action: string;
  outcome: string;
  org_id: string | null;
  request_id: string | null;
  payload: unknown;
  occurred_at: string;
  recorded_at: string;
}

/**
 * JSON with object keys sorted (UTF-16 code unit order) at every level and no whitespace.
 * jsonb does not keep key order, so the hash must not depend on it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // Non-finite numbers serialise as null, as JSON.stringify does; so does the jsonb round trip.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/**
 * Timestamps enter the hash as UTC ISO-8601 with exactly three fractional digits
 * (`2024-05-01T10:00:00.123Z`): the precision a JS Date keeps, which PostgreSQL stores exactly.
 */
export function canonicalTimestamp(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** The definition: sha256(prev_hash || canonical JSON of the row). The service uses hashPrepared, which gives the same. */
export function hashEvent(prevHash: string, fields: ChainedFields): string {
  const canonical = canonicalJson({
    seq: fields.seq,
    id: fields.id,
    service: fields.service,
    actor: fields.actor,
    action: fields.action,
    outcome: fields.outcome,
    org_id: fields.org_id,
    request_id: fields.request_id,
    payload: fields.payload,
    occurred_at: fields.occurred_at,
    recorded_at: fields.recorded_at,
  });
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}

export interface ChainLink {
  seq: string;
  prev_hash: string;
  hash: string;
}

/**
 * A row whose canonical JSON is built except for seq, which is only known under the chain lock.
 * The top-level keys are fixed, so the canonical text splits into the parts before and after
 * seq's value; building them ahead keeps the serialised section of an append short.
 */
export interface PreparedLink {
  before: string;
  after: string;
}

export function prepareLink(row: Omit<ChainedFields, 'seq'>): PreparedLink {
  const j = JSON.stringify;
  return {
    before:
      `{"action":${j(row.action)},"actor":${j(row.actor)},"id":${j(row.id)},"occurred_at":${j(row.occurred_at)},` +
      `"org_id":${j(row.org_id)},"outcome":${j(row.outcome)},"payload":${canonicalJson(row.payload)},` +
      `"recorded_at":${j(row.recorded_at)},"request_id":${j(row.request_id)},"seq":`,
    after: `,"service":${j(row.service)}}`,
  };
}

/** Same result as hashEvent, from a prepared row. */
export function hashPrepared(prevHash: string, link: PreparedLink, seq: string): string {
  return createHash('sha256').update(`${prevHash}${link.before}"${seq}"${link.after}`).digest('hex');
}

/** Same result as hashEvent; the fast path verification uses. */
export function hashRow(prevHash: string, fields: ChainedFields): string {
  return hashPrepared(prevHash, prepareLink(fields), fields.seq);
}

export interface Links {
  /** seq of the first new row; the rest follow without gaps. */
  firstSeq: bigint;
  prevHashes: string[];
  hashes: string[];
}

/** Extends the chain from its head: seq continues without gaps and each row links to the last. */
export function linkAfter(head: { seq: string; hash: string } | undefined, prepared: PreparedLink[]): Links {
  const firstSeq = BigInt(head?.seq ?? '0') + 1n;
  let prev = head?.hash ?? GENESIS_HASH;
  const prevHashes: string[] = [];
  const hashes: string[] = [];
  prepared.forEach((link, i) => {
    const hash = hashPrepared(prev, link, (firstSeq + BigInt(i)).toString());
    prevHashes.push(prev);
    hashes.push(hash);
    prev = hash;
  });
  return { firstSeq, prevHashes, hashes };
}

export interface ChainLink {
  seq: string;
  prev_hash: string;
  hash: string;
}

/** The rows themselves, chained after head (convenience for tools and tests). */
export function chainAfter<T extends Omit<ChainedFields, 'seq'>>(head: { seq: string; hash: string } | undefined, rows: T[]): Array<T & ChainLink> {
  const { firstSeq, prevHashes, hashes } = linkAfter(head, rows.map(prepareLink));
  return rows.map((row, i) => ({ ...row, seq: (firstSeq + BigInt(i)).toString(), prev_hash: prevHashes[i]!, hash: hashes[i]! }));
}
