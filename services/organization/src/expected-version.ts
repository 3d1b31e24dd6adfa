import { parseIfMatchVersion } from '@heartguard/kit';
import { OrgErrors } from './organization-errors.js';

/**
 * The version a conditional PUT expects, from the body's `version` or the If-Match header
 * (undefined means an unconditional write). Both given and disagreeing is a client bug.
 */
export function readExpectedVersion(bodyVersion: number | undefined, ifMatch: string | undefined): number | undefined {
  const headerVersion = parseIfMatchVersion(ifMatch);
  if (headerVersion === null) throw OrgErrors.badPrecondition();
  if (bodyVersion !== undefined && headerVersion !== undefined && bodyVersion !== headerVersion) {
    throw OrgErrors.badPrecondition('If-Match and the body version disagree');
  }
  return bodyVersion ?? headerVersion;
}
