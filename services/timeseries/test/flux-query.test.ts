import { describe, expect, it } from 'vitest';
import { buildFluxQuery, UnsafeQueryError } from '../src/flux-query.js';
import { AGGREGATES, type SeriesQuery } from '../src/timeseries-store.js';
import { parseIsoMicros } from '../src/time-values.js';

const BUCKET = 'org_2f0c2a8e-5f7e-4b8a-9a51-3c1f1d0e9b11';
const START = parseIsoMicros('2025-03-01T00:00:00Z')!;
const STOP = parseIsoMicros('2025-03-01T06:00:00.000250Z')!;

function spec(overrides: Partial<SeriesQuery> = {}): SeriesQuery {
  return { bucket: BUCKET, measurement: 'heart_rate', startUs: START, stopUs: STOP, tags: {}, limit: 10_000, ...overrides };
}

const HEAD = [
  `from(bucket: "${BUCKET}")`,
  '  |> range(start: time(v: "2025-03-01T00:00:00.000Z"), stop: time(v: "2025-03-01T06:00:00.000250Z"))',
  '  |> filter(fn: (r) => r._measurement == "heart_rate")',
];

/** The query with every string literal blanked: what an injection would have to change. */
function skeleton(flux: string): string {
  return flux.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
}

describe('buildFluxQuery: one exact text per query shape', () => {
  it('when only a measurement and range are given, then it reads raw points with a limit one past the maximum', () => {
    expect(buildFluxQuery(spec())).toBe([...HEAD, '  |> limit(n: 10001)'].join('\n'));
  });

  it('when a field is given, then it adds a _field filter', () => {
    expect(buildFluxQuery(spec({ field: 'bpm' }))).toBe([...HEAD, '  |> filter(fn: (r) => r._field == "bpm")', '  |> limit(n: 10001)'].join('\n'));
  });

  it('when tags are given, then each becomes an equality filter, in key order', () => {
    expect(buildFluxQuery(spec({ field: 'bpm', tags: { user_id: 'u-1', device: 'watch 2' } }))).toBe(
      [
        ...HEAD,
        '  |> filter(fn: (r) => r._field == "bpm")',
        '  |> filter(fn: (r) => r["device"] == "watch 2")',
        '  |> filter(fn: (r) => r["user_id"] == "u-1")',
        '  |> limit(n: 10001)',
      ].join('\n'),
    );
  });

  for (const fn of AGGREGATES) {
    it(`when aggregate ${fn} with a 5m window is asked, then aggregateWindow uses ${fn}, the window start as time and no empty windows`, () => {
      expect(buildFluxQuery(spec({ field: 'bpm', aggregate: { fn, window: '5m', windowSeconds: 300 }, limit: 500 }))).toBe(
        [
          ...HEAD,
          '  |> filter(fn: (r) => r._field == "bpm")',
          `  |> aggregateWindow(every: duration(v: "5m"), fn: ${fn}, timeSrc: "_start", createEmpty: false)`,
          '  |> limit(n: 501)',
        ].join('\n'),
      );
    });
  }

  it('when every option is combined, then the stages keep their order', () => {
    const text = buildFluxQuery(spec({ field: 'spo2', tags: { user_id: '7' }, aggregate: { fn: 'max', window: '1h', windowSeconds: 3600 } }));
    expect(text.split('\n').map((line) => line.trim().split('(')[0])).toEqual([
      'from',
      '|> range',
      '|> filter',
      '|> filter',
      '|> filter',
      '|> aggregateWindow',
      '|> limit',
    ]);
  });
});

describe('buildFluxQuery: hostile values stay inside their string literals', () => {
  const benign = skeleton(buildFluxQuery(spec({ field: 'bpm', tags: { user_id: 'x' } })));
  const attacks = [
    '") |> drop(columns: ["_value"]) //',
    'x" or true or r["a"] == "',
    'line1\n  |> yield(name: "leak")',
    'back\\slash\\',
    '${"interpolated"}',
    '") |> to(bucket: "org_00000000-0000-4000-8000-000000000099")',
    'carriage\rreturn\ttab',
    'ünïcødé 🫀',
  ];
  for (const value of attacks) {
    it(`when a tag value is ${JSON.stringify(value)}, then the query's structure is unchanged and the value is escaped`, () => {
      const text = buildFluxQuery(spec({ field: 'bpm', tags: { user_id: value } }));
      expect(skeleton(text)).toBe(benign);
      expect(text.split('\n')).toHaveLength(benign.split('\n').length);
      const literal = /r\["user_id"\] == ("(?:[^"\\]|\\.)*")\)/.exec(text)?.[1];
      expect(literal).toBeDefined();
      // Flux string literals use JSON-compatible escapes for these characters.
      expect(JSON.parse(literal!.replace(/\\\$/g, '$'))).toBe(value);
    });
  }

  const refused: Array<[string, Partial<SeriesQuery>]> = [
    ['a measurement with a quote', { measurement: 'hr") |> drop()' }],
    ['a measurement with a newline', { measurement: 'hr\n|> yield()' }],
    ['a field with a parenthesis', { field: 'bpm)' }],
    ['a tag key with a bracket', { tags: { 'user"]': '1' } }],
    ['a tag key that is a Flux column', { tags: { _value: '1' } }],
    ['a bucket outside the org naming scheme', { bucket: 'telegraf' }],
    ['a bucket with an injected suffix', { bucket: `${BUCKET}") |> yield()` }],
    ['a window with Flux after it', { aggregate: { fn: 'mean', window: '1m") |> yield(', windowSeconds: 60 } }],
    ['a window with a mixed unit', { aggregate: { fn: 'mean', window: '1h30m', windowSeconds: 5400 } }],
    ['an aggregate outside the table', { aggregate: { fn: 'mean) |> yield(name: "x"' as never, window: '1m', windowSeconds: 60 } }],
    ['an inherited property as aggregate', { aggregate: { fn: 'constructor' as never, window: '1m', windowSeconds: 60 } }],
    ['an empty range', { stopUs: START }],
    ['a fractional limit', { limit: 1.5 }],
  ];
  for (const [what, overrides] of refused) {
    it(`when given ${what}, then it refuses to build a query`, () => {
      expect(() => buildFluxQuery(spec(overrides))).toThrow(UnsafeQueryError);
    });
  }
});
