/** Longest stored file name, in UTF-8 bytes (the common filesystem limit for one name). */
export const MAX_FILE_NAME_BYTES = 255;

// Control, format (bidi overrides that disguise "gpj.exe" as "exe.jpg"), line/paragraph
// separators and private-use characters never belong in a name shown back to people.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\u2028\u2029]/gu;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Reserved on Windows or meaningful to shells and URLs; replaced so the name stays readable.
const RESERVED = /[<>:"|?*\\/%#]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Cuts text to at most maxBytes of UTF-8 without splitting a code point. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = utf8Length(ch);
    if (used + size > maxBytes) break;
    out += ch;
    used += size;
  }
  return out;
}

/** Shortens a name to maxBytes, keeping its extension when the extension is short. */
export function fitFileName(name: string, maxBytes: number): string {
  if (utf8Length(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  if (extension && utf8Length(extension) <= 16 && utf8Length(extension) < maxBytes) {
    return truncateUtf8(name.slice(0, dot), maxBytes - utf8Length(extension)).replace(/[ .]+$/, '') + extension;
  }
  return truncateUtf8(name, maxBytes);
}

/**
 * Turns a client-supplied name into one that is safe as the last segment of an object key,
 * a file on disk and a Content-Disposition value. Returns '' when nothing usable remains.
 */
export function sanitizeFileName(original: string): string {
  let name = original.replace(LONE_SURROGATE, '').normalize('NFC');
  // Only the last path component counts, whichever separator the client's OS uses.
  const segments = name.split(/[/\\]/);
  name = segments[segments.length - 1] ?? '';
  name = name
    .replace(INVISIBLE, '')
    .replace(RESERVED, '_')
    .replace(/\s+/g, ' ')
    .trim()
    // Leading dots hide files or climb directories; trailing dots and spaces vanish on Windows.
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (name === '' || /^_+$/.test(name)) return '';
  if (WINDOWS_DEVICE.test(name)) name = `_${name}`;
  return fitFileName(name, MAX_FILE_NAME_BYTES);
}

/** What the database can hold of the original name: PostgreSQL text cannot contain NUL. */
export function storableOriginalName(original: string): string {
  return original.replace(/\u0000/g, '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** RFC 6266 attachment header with an ASCII fallback and the exact UTF-8 name in filename*. */
export function attachmentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(fileName)}`;
}
