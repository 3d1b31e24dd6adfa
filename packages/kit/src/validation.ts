import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { RequestHandler } from 'express';
import { Errors, type FieldProblem } from './errors.js';
import { coerceXmlToSchema } from './xml-codec.js';

// ajv-formats ships CJS with a default export; under NodeNext the callable is on .default.
const addFormats = ((addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ?? addFormatsImport) as unknown as (ajv: Ajv) => Ajv;

export const DEFAULT_SCHEMAS_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

export interface SchemaRegistry {
  ajv: Ajv;
  validator(id: string): ValidateFunction;
  schema(id: string): Record<string, unknown> | undefined;
}

/** Loads every schemas/*.schema.json once; schemas reference each other by their $id. */
export function loadSchemas(dir = process.env.SCHEMAS_DIR ?? DEFAULT_SCHEMAS_DIR): SchemaRegistry {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object);
  }
  return {
    ajv,
    validator(id) {
      const fn = ajv.getSchema(id);
      if (!fn) throw new Error(`Unknown schema ${id}`);
      return fn;
    },
    schema(id) {
      return ajv.getSchema(id)?.schema as Record<string, unknown> | undefined;
    },
  };
}

export function describeErrors(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  return (errors ?? []).map((e) => {
    let field = e.instancePath || '/';
    if (e.keyword === 'required') field = `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
    if (e.keyword === 'additionalProperties') field = `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
    return { field, problem: e.message ?? 'is invalid' };
  });
}

function resolverFor(registry: SchemaRegistry, baseId: string) {
  return (ref: string) => {
    const target = ref.startsWith('#') ? `${baseId.split('#')[0]}${ref}` : ref;
    return registry.ajv.getSchema(target)?.schema as Record<string, unknown> | undefined;
  };
}

/** Validates req.body against a schema by $id; XML bodies are first coerced by that schema. */
export function validateBody(registry: SchemaRegistry, schemaId: string): RequestHandler {
  const validate = registry.validator(schemaId);
  const schema = registry.schema(schemaId);
  const resolve = resolverFor(registry, schemaId);
  return (req, _res, next) => {
    if (req.body === undefined) {
      throw Errors.validation('A request body is required', { details: [{ field: '/', problem: 'body is required' }] });
    }
    if (req.bodyFormat === 'xml') req.body = coerceXmlToSchema(req.body, schema, resolve);
    if (!validate(req.body)) throw Errors.validation(undefined, { details: describeErrors(validate.errors) });
    next();
  };
}
