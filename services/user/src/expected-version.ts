import { UserErrors } from './user-errors.js';

// `"7"`, `W/"7"` or a bare 7: clients copy the ETag we send, or type the number by hand. "0"
// means "only if I have never saved preferences".
const IF_MATCH = /^(?:W\/)?"?(0|[1-9][0-9]{0,9})"?$/;

/** The preferences version a conditional PUT expects (undefined means unconditional). */
export function readExpectedVersion(ifMatch: string | undefined): number | undefined {
  const raw = ifMatch?.trim();
  if (!raw || raw === '*') return undefined;
  const match = IF_MATCH.exec(raw);
  if (!match) throw UserErrors.badPrecondition();
  return Number(match[1]);
}
