/**
 * Names that can reach a store or a query. The JSON Schema (schemas/timeseries.schema.json)
 * enforces the same patterns at the edge; these copies guard the layers that build text.
 */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

// Tag keys become Flux columns and XML element names: InfluxDB's system columns start with "_"
// or are time/result/table, and XML reserves names starting with "xml".
export const TAG_KEY_PATTERN = /^(?![Xx][Mm][Ll])(?!(?:time|result|table)$)[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export function isName(value: string): boolean {
  return NAME_PATTERN.test(value);
}

export function isTagKey(value: string): boolean {
  return TAG_KEY_PATTERN.test(value);
}
