import type { RequestHandler, Request, Response } from 'express';
import { Errors } from './errors.js';
import { toXml, type XmlView } from './xml-codec.js';

export type Format = 'json' | 'xml';

interface MediaRange {
  type: string;
  q: number;
  order: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  header.split(',').forEach((part, order) => {
    const [rawType, ...params] = part.trim().split(';');
    const type = rawType?.trim().toLowerCase();
    if (!type) return;
    let q = 1;
    for (const param of params) {
      const [k, v] = param.split('=').map((s) => s.trim());
      if (k?.toLowerCase() === 'q') {
        const parsed = Number(v);
        q = Number.isFinite(parsed) && parsed >= 0 && parsed <= 1 ? parsed : 0;
      }
    }
    ranges.push({ type, q, order });
  });
  return ranges.sort((a, b) => b.q - a.q || a.order - b.order);
}

const FORMAT_BY_RANGE: Record<string, Format> = {
  'application/json': 'json',
  'application/xml': 'xml',
  'text/xml': 'xml',
  'application/*': 'json',
  'text/*': 'xml',
  '*/*': 'json',
};

const cache = new Map<string, Format | null>();

/** Picks JSON or XML from an Accept header (q-values honoured); null means 406. */
export function negotiateFormat(accept: string | undefined): Format | null {
  if (accept === undefined || accept.trim() === '') return 'json';
  const hit = cache.get(accept);
  if (hit !== undefined) return hit;
  let chosen: Format | null = null;
  for (const range of parseAccept(accept)) {
    if (range.q === 0) continue;
    const format = FORMAT_BY_RANGE[range.type];
    if (format) {
      chosen = format;
      break;
    }
  }
  // Accept headers repeat across clients; a small bounded cache keeps parsing off the hot path.
  if (cache.size < 1000) cache.set(accept, chosen);
  return chosen;
}

export function responseFormat(req: Request): Format {
  return negotiateFormat(req.headers.accept) ?? 'json';
}

/** Refuses a request early when no representation we can produce is acceptable. */
export function requireAcceptable(): RequestHandler {
  return (req, res, next) => {
    res.vary('Accept');
    if (negotiateFormat(req.headers.accept) === null) throw Errors.notAcceptable();
    next();
  };
}

/** The one place a handler's data becomes a JSON or XML response. */
export function respond(res: Response, status: number, view: XmlView, data: unknown): void {
  const format = responseFormat(res.req);
  res.status(status);
  res.vary('Accept');
  if (format === 'xml') {
    res.type('application/xml; charset=utf-8').send(toXml(view, data));
  } else {
    res.type('application/json; charset=utf-8').send(JSON.stringify(data));
  }
}
