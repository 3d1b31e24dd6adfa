import { Errors } from '@heartguard/kit';
import type { RequestHandler } from 'express';

export type PreferenceValue = string | number | boolean | Preferences;
export interface Preferences {
  [key: string]: PreferenceValue;
}

// Shape, depth, key names and per-level counts are in the JSON Schema (user#/definitions/preferences);
// these two totals span all levels, which JSON Schema cannot express.
export const MAX_PREFERENCE_KEYS = 50;
export const MAX_PREFERENCES_BYTES = 8 * 1024;

export function countPreferenceKeys(preferences: Preferences): number {
  let count = 0;
  for (const value of Object.values(preferences)) {
    count += 1;
    if (typeof value === 'object') count += countPreferenceKeys(value);
  }
  return count;
}

export function assertPreferencesWithinBounds(preferences: Preferences): void {
  const details = [];
  const keys = countPreferenceKeys(preferences);
  if (keys > MAX_PREFERENCE_KEYS) {
    details.push({ field: '/preferences', problem: `has ${keys} keys in total; at most ${MAX_PREFERENCE_KEYS} are allowed` });
  }
  const bytes = Buffer.byteLength(JSON.stringify(preferences), 'utf8');
  if (bytes > MAX_PREFERENCES_BYTES) {
    details.push({ field: '/preferences', problem: `is ${bytes} bytes as JSON; at most ${MAX_PREFERENCES_BYTES} are allowed` });
  }
  if (details.length > 0) throw Errors.validation(undefined, { details });
}

/** Runs after validateBody, so req.body.preferences already has the schema's shape. */
export function checkPreferenceBounds(): RequestHandler {
  return (req, _res, next) => {
    assertPreferencesWithinBounds((req.body as { preferences: Preferences }).preferences);
    next();
  };
}
