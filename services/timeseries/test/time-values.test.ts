import { describe, expect, it } from 'vitest';
import { formatMicros, parseDurationSeconds, parseIsoMicros, parseRetentionSeconds, parseTimeBound } from '../src/time-values.js';

describe('time values', () => {
  it.each([
    ['2024-01-01T00:00:00Z', 1704067200000000],
    ['2024-01-01T00:00:00.123456789Z', 1704067200123456],
    ['2024-02-29T23:59:59.5+02:00', 1709243999500000],
    ['2024-01-01t00:00:00z', 1704067200000000],
    ['2024-01-01T00:00:00-05:30', 1704087000000000],
  ])('when %s is parsed, then it is %i µs since the epoch', (text, us) => {
    expect(parseIsoMicros(text)).toBe(us);
  });

  it.each(['2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T23:59:60Z', '2024-01-01T00:00:00', '2024-01-01 00:00:00Z', '2024-01-01T00:00:00.Z', '2024-1-01T00:00:00Z', '2024-01-01T00:00:00+25:00'])(
    'when %s is parsed, then it is refused (calendar and syntax are both strict)',
    (text) => {
      expect(parseIsoMicros(text)).toBeUndefined();
    },
  );

  it('when instants are formatted, then milliseconds are always shown and microseconds only when present', () => {
    expect(formatMicros(1704067200000000)).toBe('2024-01-01T00:00:00.000Z');
    expect(formatMicros(1704067200123456)).toBe('2024-01-01T00:00:00.123456Z');
  });

  it('when query bounds are relative, then they count back from now; anything loose is refused', () => {
    const now = 1_800_000_000_000_000;
    expect(parseTimeBound('now', now)).toBe(now);
    expect(parseTimeBound('-90s', now)).toBe(now - 90_000_000);
    expect(parseTimeBound('-2w', now)).toBe(now - 14 * 86_400_000_000);
    for (const bad of ['-1h30m', '1h', '- 1h', '-0h', '-1y', 'now()', '-01h', '']) expect(parseTimeBound(bad, now)).toBeUndefined();
  });

  it('when durations and retentions are parsed, then only one count and one unit pass, and 0 only as retention', () => {
    expect(parseDurationSeconds('5m')).toBe(300);
    expect(parseDurationSeconds('0')).toBeUndefined();
    expect(parseDurationSeconds('1.5h')).toBeUndefined();
    expect(parseRetentionSeconds('0')).toBe(0);
    expect(parseRetentionSeconds('30d')).toBe(2_592_000);
  });
});
