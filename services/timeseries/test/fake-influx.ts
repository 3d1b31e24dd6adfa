import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

/**
 * A stand-in for the InfluxDB 2 HTTP API on 127.0.0.1, just wide enough to drive the official
 * client: orgs and buckets lookups, write, query (annotated CSV) and /health. Tests script its
 * answers to check how the InfluxStore maps them; it verifies our side only, not InfluxDB.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface ScriptedAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (for client timeouts). */
  hang?: boolean;
}

export interface FakeInflux {
  url: string;
  requests: RecordedRequest[];
  buckets: Map<string, { id: string; name: string; orgID: string; retentionRules: Array<{ type: 'expire'; everySeconds: number }>; createdAt: string }>;
  /** Next answers for /api/v2/write (then 204). */
  writeAnswers: ScriptedAnswer[];
  /** Next answers for /api/v2/query (then an empty result). */
  queryAnswers: ScriptedAnswer[];
  /** Next answers for POST /api/v2/buckets (then created). */
  createAnswers: ScriptedAnswer[];
  health: ScriptedAnswer;
  close(): Promise<void>;
}

const ORG_ID = '0a1b2c3d4e5f6071';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function answer(res: ServerResponse, scripted: ScriptedAnswer): void {
  if (scripted.hang) return;
  res.writeHead(scripted.status, { 'content-type': 'application/json; charset=utf-8', ...scripted.headers }).end(scripted.body ?? '');
}

export async function startFakeInflux(org = 'heartguard'): Promise<FakeInflux> {
  const fake: Omit<FakeInflux, 'url' | 'close'> = {
    requests: [],
    buckets: new Map(),
    writeAnswers: [],
    queryAnswers: [],
    createAnswers: [],
    health: { status: 200, body: JSON.stringify({ name: 'influxdb', status: 'pass', message: 'ready for queries and writes' }) },
  };
  let nextId = 1;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const url = new URL(req.url ?? '/', 'http://fake');
      const recorded = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: raw.toString('utf8') };
      fake.requests.push(recorded);
      const route = `${req.method} ${url.pathname}`;
      if (route === 'GET /health') return answer(res, fake.health);
      if (route === 'GET /api/v2/orgs') {
        return json(res, 200, { orgs: url.searchParams.get('org') === org ? [{ id: ORG_ID, name: org }] : [] });
      }
      if (route === 'GET /api/v2/buckets') {
        const name = url.searchParams.get('name');
        const all = [...fake.buckets.values()];
        if (name) return json(res, 200, { buckets: all.filter((b) => b.name === name) });
        const after = url.searchParams.get('after');
        const limit = Number(url.searchParams.get('limit') ?? 20);
        const start = after ? all.findIndex((b) => b.id === after) + 1 : 0;
        return json(res, 200, { buckets: all.slice(start, start + limit) });
      }
      if (route === 'POST /api/v2/buckets') {
        const scripted = fake.createAnswers.shift();
        if (scripted) return answer(res, scripted);
        const body = JSON.parse(recorded.body) as { name: string; orgID: string; retentionRules?: Array<{ type: 'expire'; everySeconds: number }> };
        if ([...fake.buckets.values()].some((b) => b.name === body.name)) {
          return json(res, 422, { code: 'conflict', message: `bucket with name ${body.name} already exists` });
        }
        const bucket = {
          id: String(nextId++).padStart(16, '0'),
          name: body.name,
          orgID: body.orgID,
          retentionRules: body.retentionRules ?? [],
          createdAt: new Date().toISOString(),
        };
        fake.buckets.set(bucket.id, bucket);
        return json(res, 201, bucket);
      }
      if (req.method === 'DELETE' && url.pathname.startsWith('/api/v2/buckets/')) {
        const id = url.pathname.slice('/api/v2/buckets/'.length);
        if (!fake.buckets.delete(id)) return json(res, 404, { code: 'not found', message: 'bucket not found' });
        res.writeHead(204).end();
        return;
      }
      if (route === 'POST /api/v2/write') {
        const scripted = fake.writeAnswers.shift();
        if (scripted) return answer(res, scripted);
        res.writeHead(204).end();
        return;
      }
      if (route === 'POST /api/v2/query') {
        const scripted = fake.queryAnswers.shift();
        if (scripted) return answer(res, { headers: { 'content-type': 'text/csv; charset=utf-8' }, ...scripted });
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end('');
        return;
      }
      json(res, 404, { code: 'not found', message: `no route ${route}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** An annotated-CSV answer as InfluxDB 2 writes it for a query over one measurement. */
export function annotatedCsv(rows: Array<{ table: number; time: string; value: number | string | boolean; field: string; tags: Record<string, string> }>, valueType = 'double'): string {
  const tagKeys = [...new Set(rows.flatMap((r) => Object.keys(r.tags)))].sort();
  const header = [
    `#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,${valueType},string,string${tagKeys.map(() => ',string').join('')}`,
    `#group,false,false,true,true,false,false,true,true${tagKeys.map(() => ',true').join('')}`,
    `#default,_result,,,,,,,${tagKeys.map(() => ',').join('')}`,
    `,result,table,_start,_stop,_time,_value,_field,_measurement${tagKeys.map((k) => `,${k}`).join('')}`,
  ];
  const lines = rows.map(
    (r) => `,,${r.table},2025-01-01T00:00:00Z,2025-01-02T00:00:00Z,${r.time},${r.value},${r.field},heart_rate${tagKeys.map((k) => `,${r.tags[k] ?? ''}`).join('')}`,
  );
  return `${[...header, ...lines].join('\r\n')}\r\n\r\n`;
}
