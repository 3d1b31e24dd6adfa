import { OrgErrors } from './organization-errors.js';

// `"7"`, `W/"7"` or a bare 7: clients copy the ETag we send, or type the number by hand.
const IF_MATCH = /^(?:W\/)?"?([1-9][0-9]{0,9})"?$/;

/**
 * The version a conditional PUT expects, from the body's `version` or the If-Match header
 * (undefined means an unconditional write). Both given and disagreeing is a client bug.
 */
export function readExpectedVersion(bodyVersion: number | undefined, ifMatch: string | undefined): number | undefined {
  let headerVersion: number | undefined;
  const raw = ifMatch?.trim();
  if (raw && raw !== '*') {
    const match = IF_MATCH.exec(raw);
    if (!match) throw OrgErrors.badPrecondition();
    headerVersion = Number(match[1]);
  }
  if (bodyVersion !== undefined && headerVersion !== undefined && bodyVersion !== headerVersion) {
    throw OrgErrors.badPrecondition('If-Match and the body version disagree');
  }
  return bodyVersion ?? headerVersion;
}
