/**
 * Time values as the API spells them. Internally every instant is a number of microseconds since
 * the Unix epoch: exact in a double for the next 285 years, and PostgreSQL's own resolution.
 */

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
type Unit = keyof typeof UNIT_SECONDS;

/** Windows and retentions: a positive count and one unit, nothing else (no spaces, signs, mixes). */
export const DURATION_PATTERN = /^([1-9][0-9]{0,5})(s|m|h|d|w)$/;
const RELATIVE_PATTERN = /^-([1-9][0-9]{0,5})(s|m|h|d|w)$/;

export function parseDurationSeconds(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as Unit];
}

/** Bucket retention: a duration, or "0" for infinite retention (InfluxDB's everySeconds = 0). */
export function parseRetentionSeconds(text: string): number | undefined {
  if (text === '0') return 0;
  return parseDurationSeconds(text);
}

function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Strict RFC 3339 date-time to epoch microseconds (digits past the microsecond are truncated).
 * Hand-rolled: it runs once per point, and Date.parse alone would accept February 30 or 24:00.
 */
export function parseIsoMicros(text: string): number | undefined {
  if (text.length < 20 || text.length > 40) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const t = text.charCodeAt(10);
  if (
    year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 ||
    text[4] !== '-' || text[7] !== '-' || (t !== 84 && t !== 116) || text[13] !== ':' || text[16] !== ':'
  ) {
    return undefined;
  }
  let i = 19;
  let micros = 0;
  if (text[i] === '.') {
    i++;
    const from = i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    const count = i - from;
    if (count < 1 || count > 9) return undefined;
    for (let k = 0; k < 6; k++) micros = micros * 10 + (k < count ? text.charCodeAt(from + k) - 48 : 0);
  }
  let offsetMinutes = 0;
  const zone = text[i];
  if (zone === 'Z' || zone === 'z') {
    i++;
  } else if (zone === '+' || zone === '-') {
    const hh = digitsAt(text, i + 1, 2);
    const mm = digitsAt(text, i + 4, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || text[i + 3] !== ':') return undefined;
    offsetMinutes = (hh * 60 + mm) * (zone === '+' ? 1 : -1);
    i += 6;
  } else {
    return undefined;
  }
  if (i !== text.length) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  return ms * 1000 + micros;
}

/** A query bound: an RFC 3339 instant, "now", or a strictly relative "-<n><unit>" offset from now. */
export function parseTimeBound(text: string, nowUs: number): number | undefined {
  if (text === 'now') return nowUs;
  const relative = RELATIVE_PATTERN.exec(text);
  if (relative) return nowUs - Number(relative[1]) * UNIT_SECONDS[relative[2] as Unit] * 1_000_000;
  return parseIsoMicros(text);
}

export function nowMicros(): number {
  return Date.now() * 1000;
}

/** RFC 3339 in UTC: milliseconds always, microseconds only when there are any. */
export function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString();
  return rest === 0 ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}
