/**
 * PII and secret masking applied to every event before it is hashed and stored. Pure and
 * idempotent: masking an already-masked value changes nothing, so re-delivery stays stable.
 */

export const REDACTED = '[REDACTED]';
export const TRUNCATED = '[TRUNCATED]';

export interface MaskOptions {
  /** Objects/arrays nested deeper than this become "[TRUNCATED]". */
  maxDepth: number;
}

export const DEFAULT_MASK_OPTIONS: MaskOptions = { maxDepth: 8 };

// Key names compared lowercase with everything but letters and digits removed ("refresh-Token" → "refreshtoken").
const SECRET_KEYS = new Set([
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'setcookie',
  'apikey',
  'privatekey',
  'sessionid',
  'otp',
]);
const SECRET_SUFFIXES = ['password', 'secret', 'token', 'apikey', 'authorization', 'privatekey'];

export function isSecretKey(key: string): boolean {
  const norm = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_KEYS.has(norm) || SECRET_SUFFIXES.some((suffix) => norm.endsWith(suffix));
}

const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const BASE64_RUN = /[A-Za-z0-9+/_-]{64,}={0,2}/g;

// JWTs and emails are found by hand-written scanners rather than regular expressions: the
// natural patterns backtrack quadratically on long crafted strings ("a" × 16,000 + "@" took
// 0.5 s), and payload text can come from end users. Both scanners are linear.

const isWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isBase64UrlChar = (c: number) => isWordChar(c) || c === 45;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number) => isLetter(c) || (c >= 48 && c <= 57);
// RFC 5321 limits: a local part has at most 64 characters and a domain at most 255; a little
// more is scanned so that an over-long local part is still masked from its start.
const LOCAL_SCAN = 256;
const DOMAIN_SCAN = 255;
const isLocalChar = (c: number) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isDomainChar = (c: number) => isAlnum(c) || c === 46 || c === 45;

function scanWhile(text: string, from: number, test: (c: number) => boolean): number {
  let i = from;
  while (i < text.length && test(text.charCodeAt(i))) i++;
  return i;
}

/** eyJ<header>.<payload>.<signature> (signature may be empty) → [REDACTED]. */
function maskJwts(text: string): string {
  let out = '';
  let copied = 0;
  let at = text.indexOf('eyJ');
  while (at !== -1) {
    const headerEnd = scanWhile(text, at, isBase64UrlChar);
    const bounded = at === 0 || !isWordChar(text.charCodeAt(at - 1));
    let end = -1;
    if (bounded && headerEnd - at >= 5 && text.charCodeAt(headerEnd) === 46) {
      const payloadEnd = scanWhile(text, headerEnd + 1, isBase64UrlChar);
      if (payloadEnd - headerEnd - 1 >= 2 && text.charCodeAt(payloadEnd) === 46) end = scanWhile(text, payloadEnd + 1, isBase64UrlChar);
    }
    if (end !== -1) {
      out += text.slice(copied, at) + REDACTED;
      copied = end;
      at = text.indexOf('eyJ', end);
    } else {
      // Any later "eyJ" inside this header run ends where this one did, so it fails the same way.
      at = text.indexOf('eyJ', Math.max(headerEnd, at + 1));
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function isDomainLabel(label: string): boolean {
  if (label.length === 0 || label.length > 63) return false;
  if (!isAlnum(label.charCodeAt(0)) || !isAlnum(label.charCodeAt(label.length - 1))) return false;
  for (let i = 1; i < label.length - 1; i++) if (!isAlnum(label.charCodeAt(i)) && label.charCodeAt(i) !== 45) return false;
  return true;
}

/** The longest leading run of labels that forms a domain with an alphabetic TLD, or undefined. */
function leadingDomain(candidate: string): string | undefined {
  const labels = candidate.split('.');
  let valid = 0;
  while (valid < labels.length && isDomainLabel(labels[valid]!)) valid++;
  for (let n = valid; n >= 2; n--) {
    const tld = labels[n - 1]!;
    if (tld.length >= 2 && [...tld].every((ch) => isLetter(ch.charCodeAt(0)))) return labels.slice(0, n).join('.');
  }
  return undefined;
}

/** local@domain.tld → l***@domain.tld */
function maskEmails(text: string): string {
  let out = '';
  let copied = 0;
  let at = text.indexOf('@');
  while (at !== -1) {
    let start = at;
    while (start > copied && at - start < LOCAL_SCAN && isLocalChar(text.charCodeAt(start - 1))) start--;
    const domainEnd = Math.min(scanWhile(text, at + 1, isDomainChar), at + 1 + DOMAIN_SCAN);
    const domain = start < at ? leadingDomain(text.slice(at + 1, domainEnd)) : undefined;
    if (domain) {
      out += `${text.slice(copied, start)}${text[start]}***@${domain}`;
      copied = at + 1 + domain.length;
      at = text.indexOf('@', copied);
    } else {
      at = text.indexOf('@', at + 1);
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// Long runs of URL/base64 alphabet also occur in paths and UUID chains; real base64 mixes cases and digits.
function looksLikeBase64(run: string): boolean {
  return /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);
}

function maskBase64(run: string): string {
  if (!looksLikeBase64(run)) return run;
  const data = run.replace(/=+$/, '');
  return `[BASE64 ${Math.floor((data.length * 3) / 4)} bytes]`;
}

// PostgreSQL text and jsonb refuse NUL, and a lone surrogate would come back as U+FFFD and break the hash.
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Makes a string storable unchanged in PostgreSQL text/jsonb. */
export function storableText(text: string): string {
  return text.replace(NUL, '').replace(LONE_SURROGATE, '\uFFFD');
}

/** Masks tokens, emails and base64 blobs inside free text. */
export function maskText(text: string): string {
  let out = storableText(text);
  // Cheap guards first: most payload strings are short and match none of the patterns.
  if (out.includes('eyJ')) out = maskJwts(out);
  if (/bearer|basic/i.test(out)) out = out.replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  if (out.length >= 64) out = out.replace(BASE64_RUN, maskBase64);
  if (out.includes('@')) out = maskEmails(out);
  return out;
}

/** An actor is usually a user id or service name, but an email or token must not be stored as one. */
export function maskActor(actor: string): string {
  return maskText(actor);
}

/**
 * Recursively masks a payload: secret-named keys lose their value whatever its type, strings
 * are masked as text, keys are masked as text too (an email used as a key is still an email).
 */
export function maskPayload(value: unknown, options: MaskOptions = DEFAULT_MASK_OPTIONS, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' && !Number.isFinite(value) ? null : value;
  }
  if (depth >= options.maxDepth) return TRUNCATED;
  if (Array.isArray(value)) return value.map((item) => maskPayload(item, options, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (inner === undefined) continue;
    out[maskText(key)] = isSecretKey(key) ? REDACTED : maskPayload(inner, options, depth + 1);
  }
  return out;
}
