import { createHash, verify, type KeyObject } from 'node:crypto';

/** RFC 3986 percent-encoding as Google's V4 canonical form requires ("~" unreserved, space as %20). */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface V4Check {
  valid: boolean;
  canonicalRequest: string;
  stringToSign: string;
  params: Record<string, string>;
  path: string;
}

/**
 * Rebuilds the canonical request and string-to-sign of a V4 signed URL exactly as documented
 * (cloud.google.com/storage/docs/authentication/canonical-requests and /signatures) — written
 * from the documentation, not from the client's code — and verifies X-Goog-Signature (hex,
 * RSA-SHA256) with the service account's public key.
 */
export function verifyV4SignedUrl(
  signedUrl: string,
  publicKey: KeyObject,
  { method = 'GET', host }: { method?: string; host?: string } = {},
): V4Check {
  const url = new URL(signedUrl);
  const params: Record<string, string> = {};
  for (const [name, value] of url.searchParams) params[name] = value;
  const signature = params['X-Goog-Signature'] ?? '';

  // PATH_TO_RESOURCE: the path as sent, each segment percent-encoded ("/" kept as separator).
  const path = url.pathname
    .split('/')
    .map((segment) => encodeRfc3986(decodeURIComponent(segment)))
    .join('/');

  // CANONICAL_QUERY_STRING: every parameter except the signature, encoded, sorted by name.
  const canonicalQuery = Object.entries(params)
    .filter(([name]) => name !== 'X-Goog-Signature')
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');

  // CANONICAL_HEADERS: the signed headers, lower-case "name:value" lines; for a plain read only host.
  const signedHeaders = (params['X-Goog-SignedHeaders'] ?? '').split(';');
  // The Host header a client sends; callers override it where the signer is known to differ.
  const headerValues: Record<string, string> = { host: host ?? url.host };
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(headerValues[name] ?? '').trim()}\n`).join('');

  const canonicalRequest = [method, path, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
  const credential = params['X-Goog-Credential'] ?? '';
  const scope = credential.split('/').slice(1).join('/');
  const stringToSign = [
    params['X-Goog-Algorithm'] ?? '',
    params['X-Goog-Date'] ?? '',
    scope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');

  const valid =
    /^[0-9a-f]+$/.test(signature) &&
    verify('RSA-SHA256', Buffer.from(stringToSign, 'utf8'), publicKey, Buffer.from(signature, 'hex'));
  return { valid, canonicalRequest, stringToSign, params, path };
}
