import { parseIfMatchVersion } from '@heartguard/kit';
import { UserErrors } from './user-errors.js';

/** The preferences version a conditional PUT expects (undefined means unconditional); "0" means "only if never saved". */
export function readExpectedVersion(ifMatch: string | undefined): number | undefined {
  const version = parseIfMatchVersion(ifMatch);
  if (version === null) throw UserErrors.badPrecondition();
  return version;
}
