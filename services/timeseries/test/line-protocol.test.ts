import { Point } from '@influxdata/influxdb-client';
import { hasCode } from '@heartguard/kit';
import { describe, expect, it } from 'vitest';
import { toInfluxPoint } from '../src/influx-store.js';
import { parseLineProtocol } from '../src/line-protocol.js';
import { TsErrors } from '../src/timeseries-errors.js';

function parse(text: string, precision: 'ns' | 'us' | 'ms' | 's' = 'ns', max = 100) {
  return parseLineProtocol(text, precision, max).map(({ line: _line, ...point }) => point);
}

function errorOf(fn: () => unknown): { code: string; status: number; details?: Array<{ field: string; problem: string }> } {
  try {
    fn();
  } catch (err) {
    return err as never;
  }
  throw new Error('expected an error');
}

describe('parseLineProtocol', () => {
  it('when a line has tags, typed fields and a nanosecond timestamp, then each part is read with its type', () => {
    expect(parse('heart_rate,user_id=u1,device=watch bpm=72.5,steps=120i,rest=t,note="ok" 1700000000123456789')).toEqual([
      {
        measurement: 'heart_rate',
        tags: { user_id: 'u1', device: 'watch' },
        fields: { bpm: 72.5, steps: 120, rest: true, note: 'ok' },
        timeUs: 1700000000123456,
      },
    ]);
  });

  it('when lines have no timestamp, comments, blank lines and CRLF endings, then only the points remain, without times', () => {
    expect(parse('# a comment\r\n\r\nm a=1\r\n   \nm b=2u\n')).toEqual([
      { measurement: 'm', tags: {}, fields: { a: 1 }, timeUs: undefined },
      { measurement: 'm', tags: {}, fields: { b: 2 }, timeUs: undefined },
    ]);
  });

  it('when values use escapes, then spaces, commas and equals signs in tags and quotes, backslashes and newlines in strings survive', () => {
    const [point] = parse('m,site=north\\ wing\\,\\ bed\\=3 text="say \\"hi\\" \\\\o/\nnext line",flag=FALSE 1');
    expect(point).toEqual({
      measurement: 'm',
      tags: { site: 'north wing, bed=3' },
      fields: { text: 'say "hi" \\o/\nnext line', flag: false },
      timeUs: 0,
    });
  });

  it('when a tag value holds a backslash that escapes nothing, then it is kept literally', () => {
    expect(parse('m,path=C:\\temp v=1')[0]!.tags).toEqual({ path: 'C:\\temp' });
  });

  it.each([
    ['s', '1700000000', 1700000000000000],
    ['ms', '1700000000123', 1700000000123000],
    ['us', '1700000000123456', 1700000000123456],
    ['ns', '1700000000123456789', 1700000000123456],
  ] as const)('when the precision is %s, then the timestamp becomes epoch microseconds', (precision, raw, expected) => {
    expect(parse(`m v=1 ${raw}`, precision)[0]!.timeUs).toBe(expected);
  });

  it.each([
    ['a missing field set', 'm,tag=1', 1],
    ['a field without a value', 'ok v=1\nm v=', 2],
    ['an unterminated string', 'm v="open', 1],
    ['a bad number', 'm v=12abc', 1],
    ['NaN', 'm v=NaN', 1],
    ['a tag without a value', 'm,t= v=1', 1],
    ['a duplicate field', 'm v=1,v=2', 1],
    ['a duplicate tag', 'm,t=1,t=2 v=1', 1],
    ['a fractional timestamp', 'm v=1 1.5', 1],
    ['text after the timestamp', 'm v=1 1 2', 1],
    ['an empty measurement', ',t=1 v=1', 1],
    ['a __proto__ field', 'm __proto__=1', 1],
    ['a constructor tag', 'm,constructor=x v=1', 1],
  ])('when a line has %s, then TS_400 names the line', (_what, text, line) => {
    const err = errorOf(() => parse(text));
    expect(err.code).toBe('TS_400');
    expect(err.status).toBe(400);
    expect(err.details?.[0]?.field).toBe(`/lines/${line}`);
  });

  it('when a body holds more points than allowed, then parsing stops with TS_413', () => {
    const err = errorOf(() => parseLineProtocol('m v=1\nm v=2\nm v=3', 'ns', 2));
    expect(hasCode(err, TsErrors.batchTooLarge)).toBe(true);
  });
});

describe('line protocol written by the client Point class (toInfluxPoint)', () => {
  const point = {
    measurement: 'heart_rate',
    tags: { user_id: 'u 1,=x', device: 'C:\\watch' },
    fields: { bpm: 72, ratio: 0.1 + 0.2, rest: false, note: 'he said "hi"\\\nbye' },
    timeUs: 1700000000123456,
  };

  it('when a point is encoded, then numbers are doubles, tags are sorted and escaped, strings quoted', () => {
    const line = toInfluxPoint(point).toLineProtocol({ convertTime: (t) => String(t) });
    expect(line).toBe(
      'heart_rate,device=C:\\watch,user_id=u\\ 1\\,\\=x bpm=72,note="he said \\"hi\\"\\\\\nbye",ratio=0.30000000000000004,rest=F 1700000000123456',
    );
  });

  it('when the encoded line is parsed back, then the same point comes out', () => {
    const line = toInfluxPoint(point).toLineProtocol({ convertTime: (t) => String(t) })!;
    expect(parse(line, 'us')).toEqual([{ ...point, tags: { device: 'C:\\watch', user_id: 'u 1,=x' } }]);
  });

  it('when a point holds a value the client cannot encode, then the client refuses it rather than writing junk', () => {
    expect(() => new Point('m').floatField('v', Number.POSITIVE_INFINITY)).toThrow();
  });
});
