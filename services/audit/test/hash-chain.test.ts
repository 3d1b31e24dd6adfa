import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalJson, canonicalTimestamp, chainAfter, hashEvent } from '../src/hash-chain.js';
import { decodeCursor, encodeCursor, parseEventQuery } from '../src/list-events.js';

const ORG = '3f2c1b0a-1111-4222-8333-444455556666';

function fields(overrides: Record<string, unknown> = {}) {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    service: 'auth',
    actor: 'u1',
    action: 'auth.login',
    outcome: 'success',
    org_id: ORG,
    request_id: null,
    payload: { b: 1, a: [1, { d: 2, c: 3 }] },
    occurred_at: '2025-01-01T00:00:00.000Z',
    recorded_at: '2025-01-01T00:00:01.000Z',
    ...overrides,
  };
}

describe('hash chain', () => {
  it('when objects differ only in key order, then their canonical JSON is identical and compact', () => {
    expect(canonicalJson({ b: 1, a: { y: [3, 'x'], x: null } })).toBe('{"a":{"x":null,"y":[3,"x"]},"b":1}');
    expect(canonicalJson({ a: { x: null, y: [3, 'x'] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { y: [3, 'x'], x: null } }));
  });

  it('when a timestamp is canonicalised, then it is UTC with millisecond precision', () => {
    expect(canonicalTimestamp('2025-03-01T10:00:00+02:00')).toBe('2025-03-01T08:00:00.000Z');
    expect(canonicalTimestamp(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)))).toBe('2025-01-02T03:04:05.006Z');
  });

  it('when a row is hashed, then the hash is sha256(prev_hash || canonical JSON of its fields)', () => {
    const row = { ...fields(), seq: '1' };
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalJson(row))
      .digest('hex');
    expect(hashEvent(GENESIS_HASH, row)).toBe(expected);
  });

  it('when rows are chained after a head, then seq continues without gaps and each links to the previous hash', () => {
    const rows = chainAfter({ seq: '41', hash: 'f'.repeat(64) }, [fields(), fields({ id: '00000000-0000-4000-8000-000000000002' })]);
    expect(rows.map((r) => r.seq)).toEqual(['42', '43']);
    expect(rows[0]!.prev_hash).toBe('f'.repeat(64));
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    expect(rows[1]!.hash).toBe(hashEvent(rows[0]!.hash, rows[1]!));
    expect(chainAfter(undefined, [fields()])[0]).toMatchObject({ seq: '1', prev_hash: GENESIS_HASH });
  });

  it('when the seq-less canonical text is prepared ahead of the lock, then it hashes exactly like the generic canonical JSON', () => {
    const tricky = fields({ actor: 'quote " back \\ ünï \u2028', payload: { z: [1.5, -0, 1e21, null], 'a"b': { y: true, x: 'é' } }, request_id: 'r-1' });
    const [linked] = chainAfter({ seq: '9007199254740993', hash: 'e'.repeat(64) }, [tricky]);
    expect(linked!.seq).toBe('9007199254740994');
    expect(linked!.hash).toBe(hashEvent('e'.repeat(64), { ...tricky, seq: '9007199254740994' }));
  });

  it('when any hashed field changes, then the hash changes', () => {
    const base = hashEvent(GENESIS_HASH, { ...fields(), seq: '1' });
    for (const change of [{ seq: '2' }, { actor: 'u2' }, { payload: { b: 2 } }, { org_id: null }, { recorded_at: '2025-01-01T00:00:01.001Z' }]) {
      expect(hashEvent(GENESIS_HASH, { ...fields(), seq: '1', ...change })).not.toBe(base);
    }
  });
});

describe('cursor and query parsing', () => {
  it('when a seq is encoded as a cursor, then it decodes back and tampered cursors are refused', () => {
    expect(decodeCursor(encodeCursor('900001'))).toBe('900001');
    for (const bad of ['', '!!!', Buffer.from('s:abc').toString('base64url'), Buffer.from('s:0').toString('base64url'), Buffer.from('s:99999999999999999999').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: 'AUDIT_002' }));
    }
  });

  it('when filters are valid, then they are normalised into the org-scoped filter', () => {
    expect(parseEventQuery({ service: 'auth', actor: 'alice@example.com', from: '2025-01-01T00:00:00+01:00', limit: '10' }, ORG)).toEqual({
      orgId: ORG,
      service: 'auth',
      actor: 'a***@example.com',
      from: '2024-12-31T23:00:00.000Z',
      limit: 10,
    });
  });

  it('when filters are invalid, unknown or repeated, then AUDIT_003 lists every problem', () => {
    try {
      parseEventQuery({ limit: '0', from: 'yesterday', org_id: 'x', action: ['a', 'b'] }, ORG);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'AUDIT_003', status: 400 });
      const fieldsWithProblems = (err as { details: Array<{ field: string }> }).details.map((d) => d.field).sort();
      expect(fieldsWithProblems).toEqual(['action', 'from', 'limit', 'org_id']);
    }
    expect(() => parseEventQuery({ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, ORG)).toThrow(
      expect.objectContaining({ code: 'AUDIT_003' }),
    );
    expect(() => parseEventQuery({ limit: '201' }, ORG)).toThrow(expect.objectContaining({ code: 'AUDIT_003' }));
  });
});
