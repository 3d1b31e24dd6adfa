// `"7"`, `W/"7"` or a bare 7: clients copy the ETag we send, or type the number by hand.
const IF_MATCH = /^(?:W\/)?"?(0|[1-9][0-9]{0,9})"?$/;

/**
 * The resource version an If-Match header names, for optimistic concurrency on versioned rows:
 * undefined when absent or "*" (an unconditional write), null when malformed.
 */
export function parseIfMatchVersion(header: string | undefined): number | undefined | null {
  const raw = header?.trim();
  if (!raw || raw === '*') return undefined;
  const match = IF_MATCH.exec(raw);
  return match ? Number(match[1]) : null;
}
