import type { RequestHandler } from 'express';

/** XML writes empty optional elements (`<bucket/>`); they mean "absent", not "empty string". */
export function dropEmptyXmlOptionals(keys: string[], pointKeys: string[] = []): RequestHandler {
  return (req, _res, next) => {
    if (req.bodyFormat !== 'xml' || !req.body || typeof req.body !== 'object') return next();
    const body = req.body as Record<string, unknown>;
    for (const key of keys) if (body[key] === '') delete body[key];
    const wrapper = body.points;
    if (pointKeys.length > 0 && wrapper && typeof wrapper === 'object' && !Array.isArray(wrapper)) {
      for (const inner of Object.values(wrapper as Record<string, unknown>)) {
        for (const point of Array.isArray(inner) ? inner : [inner]) {
          if (!point || typeof point !== 'object') continue;
          for (const key of pointKeys) if ((point as Record<string, unknown>)[key] === '') delete (point as Record<string, unknown>)[key];
        }
      }
    }
    next();
  };
}
