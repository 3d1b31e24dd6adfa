import type { Request, RequestHandler } from 'express';
import { Errors } from './errors.js';
import { assertSafeStructure, parseXmlBody } from './xml-codec.js';

export type BodyFormat = 'json' | 'xml' | 'text';

export interface BodyReaderOptions {
  limitBytes: number;
  /** Media types beyond JSON/XML that a route accepts as raw text (e.g. line protocol). */
  textTypes?: string[];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function contentFormat(req: Request, textTypes: string[]): BodyFormat {
  const header = req.headers['content-type'];
  if (!header) throw Errors.unsupportedMediaType('Content-Type header is required for a request body');
  const [rawType, ...params] = header.split(';');
  const type = rawType!.trim().toLowerCase();
  for (const param of params) {
    const [k, v] = param.split('=').map((s) => s.trim().toLowerCase());
    if (k === 'charset' && v !== 'utf-8' && v !== 'utf8' && v !== '"utf-8"') {
      throw Errors.unsupportedMediaType('Only UTF-8 bodies are accepted');
    }
  }
  if (type === 'application/json') return 'json';
  if (type === 'application/xml' || type === 'text/xml') return 'xml';
  if (textTypes.includes(type)) return 'text';
  throw Errors.unsupportedMediaType();
}

function collect(req: Request, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limitBytes) {
        failed = true;
        // Stop buffering but keep draining so the 413 can still be written on this socket.
        req.resume();
        reject(Errors.tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) reject(Errors.malformedBody('Request body could not be read', { cause: err }));
    });
  });
}

/**
 * Reads, size-limits and decodes a JSON or XML body into req.body; req.bodyFormat records
 * which one it was so validation can coerce XML text by the schema.
 */
export function readBody({ limitBytes, textTypes = [] }: BodyReaderOptions): RequestHandler {
  return async (req, _res, next) => {
    const declared = req.headers['content-length'];
    const hasBody = (declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      req.body = undefined;
      return next();
    }
    if (declared !== undefined && Number(declared) > limitBytes) throw Errors.tooLarge();
    const format = contentFormat(req, textTypes);
    const raw = await collect(req, limitBytes);
    let text: string;
    try {
      text = decoder.decode(raw);
    } catch {
      throw Errors.malformedBody('Request body is not valid UTF-8');
    }
    req.bodyFormat = format;
    if (format === 'text') {
      req.body = text;
    } else if (format === 'json') {
      if (text.trim() === '') {
        req.body = undefined;
      } else {
        try {
          // No reviver: it costs more than the parse on large bodies. JSON.parse makes
          // "__proto__" an own key, which assertSafeStructure then refuses.
          req.body = JSON.parse(text);
        } catch (err) {
          if (err instanceof SyntaxError) throw Errors.malformedBody('Malformed JSON');
          throw err;
        }
        assertSafeStructure(req.body);
      }
    } else {
      req.body = text.trim() === '' ? undefined : parseXmlBody(text);
    }
    next();
  };
}
