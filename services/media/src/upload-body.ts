import { Errors, parseXmlBody, readBody } from '@heartguard/kit';
import type { RequestHandler } from 'express';

/**
 * The kit's XML parser needs ~0.3 µs per character: a 10 MB <MediaUpload> would block the event
 * loop for seconds. The file is the only large part and is plain base64, so it is lifted out as
 * text and only the small rest of the document goes through the (DOCTYPE-refusing) parser.
 */
const LIFTED_TYPE = 'application/vnd.heartguard.media-upload+xml';
const XML_TYPES = new Set(['application/xml', 'text/xml']);
const OPEN = '<data_base64>';
const CLOSE = '</data_base64>';
/** Everything but the file: names, type and markup. */
const MAX_XML_REST_BYTES = 64 * 1024;

export function parseUploadXml(text: string): unknown {
  const start = text.indexOf(OPEN);
  const end = start === -1 ? -1 : text.indexOf(CLOSE, start + OPEN.length);
  let lifted: string | undefined;
  let rest = text;
  if (end !== -1) {
    const content = text.slice(start + OPEN.length, end);
    // Markup or entities inside mean it is not plain base64; the parser (and then validation) decides.
    if (content.indexOf('<') === -1 && content.indexOf('&') === -1) {
      lifted = content;
      rest = text.slice(0, start + OPEN.length) + text.slice(end);
    }
  }
  if (rest.length > MAX_XML_REST_BYTES) {
    throw Errors.tooLarge('In an XML upload only <data_base64> may be large, and it must hold plain base64 text');
  }
  const body = parseXmlBody(rest);
  if (lifted !== undefined) {
    const fields = body as Record<string, unknown> | undefined;
    // The lifted slot must be the one data_base64 child of the root, now parsed as empty.
    if (!fields || typeof fields !== 'object' || fields.data_base64 !== '') {
      throw Errors.malformedBody('<data_base64> must appear once, directly inside <MediaUpload>');
    }
    fields.data_base64 = lifted.trim();
  }
  return body;
}

function isXml(header: string | undefined): header is string {
  return header !== undefined && XML_TYPES.has(header.split(';')[0]!.trim().toLowerCase());
}

/**
 * readBody for POST /media/upload: JSON as usual; XML is read by the kit as text (same size,
 * charset and UTF-8 checks) and then parsed with the file lifted out.
 */
export function readUploadBody(limitBytes: number): RequestHandler[] {
  return [
    (req, res, next) => {
      const header = req.headers['content-type'];
      if (isXml(header)) {
        res.locals.declaredContentType = header;
        req.headers['content-type'] = header.replace(/^[^;]*/, LIFTED_TYPE);
      }
      next();
    },
    readBody({ limitBytes, textTypes: [LIFTED_TYPE] }),
    (req, res, next) => {
      if (res.locals.declaredContentType !== undefined) {
        req.headers['content-type'] = res.locals.declaredContentType as string;
        if (req.bodyFormat === 'text') {
          req.body = parseUploadXml(req.body as string);
          req.bodyFormat = 'xml';
        }
      }
      next();
    },
  ];
}
