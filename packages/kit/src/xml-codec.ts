import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Errors } from './errors.js';

/**
 * How a response object becomes XML: the root element, and for list responses the key
 * whose array items become repeated children of the root (e.g. MediaItems > MediaItem).
 */
export interface XmlView {
  root: string;
  list?: { key: string; item: string };
  /** Element name for items of nested arrays, by the array's key (default: key minus trailing "s"). */
  itemNames?: Record<string, string>;
}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function escapeText(value: string): string {
  return value.replace(/[&<>"']/g, (ch) =>
    ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '"' ? '&quot;' : '&apos;',
  );
}

// XML 1.0 cannot carry most C0 control characters even escaped; they are dropped on output only.
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function scalarText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return escapeText(String(value).replace(INVALID_XML_CHARS, ''));
}

function itemNameFor(key: string, view: XmlView): string {
  const named = view.itemNames?.[key];
  if (named) return named;
  return key.length > 1 && key.endsWith('s') ? key.slice(0, -1) : 'item';
}

function writeElement(name: string, value: unknown, view: XmlView, out: string[]): void {
  if (value === null || value === undefined) return;
  if (!XML_NAME.test(name) || /^xml/i.test(name)) throw new Error(`Cannot serialize key "${name}" as an XML element`);
  if (Array.isArray(value)) {
    out.push(`<${name}>`);
    const child = itemNameFor(name, view);
    for (const item of value) writeElement(child, item, view, out);
    out.push(`</${name}>`);
    return;
  }
  if (typeof value === 'object' && !(value instanceof Date)) {
    out.push(`<${name}>`);
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) writeElement(key, inner, view, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${scalarText(value)}</${name}>`);
}

export function toXml(view: XmlView, data: unknown): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', `<${view.root}>`];
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      if (view.list && key === view.list.key && Array.isArray(value)) {
        for (const item of value) writeElement(view.list.item, item, view, out);
      } else {
        writeElement(key, value, view, out);
      }
    }
  }
  out.push(`</${view.root}>`);
  return out.join('');
}

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  // Also decodes numeric character references (&#65;), which plain XML entity processing leaves as text.
  htmlEntities: true,
  trimValues: true,
});

export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_DEPTH = 32;

/** Rejects bodies that could pollute prototypes or exhaust the stack, for JSON and XML alike. */
export function assertSafeStructure(value: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) throw Errors.tooDeep();
  if (Array.isArray(value)) {
    for (const item of value) assertSafeStructure(item, depth + 1);
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw Errors.forbiddenKey(`Key "${key}" is not allowed`);
      assertSafeStructure((value as Record<string, unknown>)[key], depth + 1);
    }
  }
}

// A cheap pre-scan so a pathological nesting depth is refused before the parser recurses into it.
function exceedsTagDepth(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (next === 47 /* / */) depth--;
    else if (next !== 63 /* ? */ && next !== 33 /* ! */) {
      const end = text.indexOf('>', i);
      if (end === -1) return false;
      if (text.charCodeAt(end - 1) !== 47) depth++;
      if (depth > limit) return true;
    }
  }
  return false;
}

/**
 * Parses an XML request body into the object its JSON twin would give (before schema-guided
 * type coercion): the root element's children become the object's keys.
 */
export function parseXmlBody(text: string): unknown {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw Errors.forbiddenXml();
  if (exceedsTagDepth(text, MAX_DEPTH + 1)) throw Errors.tooDeep();
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw Errors.malformedBody(`Malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    // fast-xml-parser refuses prototype-polluting names itself; anything else is malformed input.
    if (err instanceof Error && err.message.includes('SECURITY')) throw Errors.forbiddenKey('A forbidden element name was used');
    throw Errors.malformedBody('Malformed XML');
  }
  const roots = Object.keys(doc);
  if (roots.length !== 1) throw Errors.malformedBody('XML body must have exactly one root element');
  assertSafeStructure(doc);
  const body = doc[roots[0]!];
  return body === '' ? {} : body;
}

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  $ref?: string;
};

/**
 * XML carries only text, so the JSON Schema that validates the body also tells us which
 * strings are numbers, booleans or arrays. The result is validated by that same schema.
 */
export function coerceXmlToSchema(value: unknown, schema: Schema | undefined, resolve: (ref: string) => Schema | undefined): unknown {
  if (!schema) return value;
  if (schema.$ref) return coerceXmlToSchema(value, resolve(schema.$ref), resolve);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes('array')) {
    let items: unknown[];
    if (value === '' || value === undefined) items = [];
    else if (Array.isArray(value)) items = value;
    else if (value && typeof value === 'object' && Object.keys(value).length === 1) {
      const inner = Object.values(value)[0];
      items = Array.isArray(inner) ? inner : [inner];
    } else items = [value];
    return items.map((item) => coerceXmlToSchema(item, schema.items, resolve));
  }
  if (types.includes('object') || schema.properties) {
    if (value === '') return {};
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const sub = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      out[key] = coerceXmlToSchema(inner, sub, resolve);
    }
    return out;
  }
  if (typeof value !== 'string' || types.includes('string')) return value;
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return Number(value);
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  if (types.includes('null') && value === '') return null;
  return value;
}
