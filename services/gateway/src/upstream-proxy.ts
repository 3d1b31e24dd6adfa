import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Errors, isAppError, sendError, type AppError, type Logger } from '@heartguard/kit';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, proxyEventsPlugin } from 'http-proxy-middleware';
import type { Upstream } from './access-policy.js';
import { GatewayErrors } from './gateway-errors.js';

export type UpstreamErrorKind = 'unavailable' | 'timeout' | 'bad_gateway';

export interface UpstreamProxyOptions {
  upstreams: Record<Upstream, string>;
  timeoutMs: number;
  maxSockets: number;
  bodyLimitBytes: number;
  logger: Logger;
  onUpstreamError?: (upstream: Upstream, kind: UpstreamErrorKind) => void;
}

export interface UpstreamProxies {
  /** Forwards the request to its route's upstream; the path goes out unchanged. */
  forward: RequestHandler;
  /** Closes pooled upstream connections (at shutdown). */
  close(): void;
}

/** Per-request proxy bookkeeping, kept off the shared request state. */
interface Exchange {
  upstream: Upstream;
  proxyReq: ClientRequest | undefined;
  abortedWith: AppError | undefined;
  deadline: NodeJS.Timeout | undefined;
}

type ProxyHandler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => Promise<void>;

const exchanges = new WeakMap<IncomingMessage, Exchange>();

// Identity is asserted by the bearer token only; headers that claim one are the client's invention.
const SPOOFABLE = /^(?:x-user-|x-org-|x-authenticated-|x-service-|x-forwarded-|x-real-ip$|x-client-ip$|forwarded$|x-gateway-)/;
// Hop-by-hop headers (RFC 9110 §7.6.1) describe the client's connection, not the upstream one.
const HOP_BY_HOP = /^(?:keep-alive|proxy-connection|proxy-authorization|te|trailer|upgrade)$/;

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

function classify(err: unknown): { error: AppError; kind: UpstreamErrorKind | undefined } {
  if (isAppError(err)) {
    return { error: err, kind: err.code === GatewayErrors.upstreamTimeout.code ? 'timeout' : undefined };
  }
  const code = (err as { code?: string })?.code;
  if (code && UNAVAILABLE_CODES.has(code)) return { error: GatewayErrors.upstreamUnavailable(), kind: 'unavailable' };
  if (code === 'ETIMEDOUT') return { error: GatewayErrors.upstreamTimeout(), kind: 'timeout' };
  return { error: GatewayErrors.badGateway(), kind: 'bad_gateway' };
}

/** Whether a comma-separated header value lists `token` (case-insensitively, as a whole item). */
function listsToken(list: string, token: string): boolean {
  const haystack = list.toLowerCase();
  const needle = token.trim().toLowerCase();
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) {
    const before = at === 0 ? ',' : haystack[at - 1];
    const after = haystack[at + needle.length] ?? ',';
    if ((before === ',' || before === ' ') && (after === ',' || after === ' ')) return true;
  }
  return false;
}

function mergeVary(existing: number | string | string[] | undefined, upstream: string | undefined): string | undefined {
  if (existing === undefined) return upstream;
  const current = String(existing);
  if (upstream === undefined || upstream === current) return current;
  // The usual case, "Origin, Accept" + "Accept", needs no splitting.
  if (!upstream.includes(',') && listsToken(current, upstream)) return current;
  const names = new Map<string, string>();
  for (const part of `${current},${upstream}`.split(',')) {
    const name = part.trim();
    if (name && !names.has(name.toLowerCase())) names.set(name.toLowerCase(), name);
  }
  return [...names.values()].join(', ');
}

/** Agent socket timeout on an active exchange: the upstream went silent mid-request or mid-body. */
function endIdleExchange(this: ClientRequest): void {
  this.destroy(GatewayErrors.upstreamTimeout());
}

function prepareHeaders(req: Request): void {
  const headers = req.headers;
  for (const name in headers) {
    if (SPOOFABLE.test(name) || HOP_BY_HOP.test(name)) delete headers[name];
  }
  headers['x-gateway-request-id'] = req.gateway.id;
  // Upstreams (auth's per-IP login backoff) see the client address the gateway trusted, one hop.
  headers['x-forwarded-for'] = req.gateway.clientIp;
}

export function createUpstreamProxies(options: UpstreamProxyOptions): UpstreamProxies {
  const { logger, timeoutMs, bodyLimitBytes } = options;
  // The socket timeout is the idle limit for both states: an active socket silent that long (a
  // body stalled after its headers) ends the exchange; a free one is dropped well before the
  // upstream's 65 s keep-alive timeout, so a request never lands on a socket being closed.
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: 64, timeout: Math.min(timeoutMs, 60_000) });

  function respondWithError(req: IncomingMessage, res: ServerResponse | Socket, err: unknown): void {
    const exchange = exchanges.get(req);
    if (exchange?.deadline) clearTimeout(exchange.deadline);
    if (!('writeHead' in res)) {
      res.destroy();
      return;
    }
    // The client left first (and the exchange was torn down for it): nobody to answer.
    if (res.destroyed) return;
    const { error, kind } = classify(err);
    if (kind && exchange) {
      options.onUpstreamError?.(exchange.upstream, kind);
      logger.warn({ upstream: exchange.upstream, kind, cause: (err as { code?: string })?.code ?? (err as Error)?.message }, 'upstream request failed');
    }
    if (res.headersSent) {
      // Too late for an envelope: cut the response so the client sees it was incomplete.
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (error.status === 413) res.setHeader('Connection', 'close');
    sendError(res as Response, error);
  }

  /** Ends the exchange with `error`: through the upstream request if there is one, else directly. */
  function abortExchange(req: IncomingMessage, res: ServerResponse, error: AppError): void {
    const exchange = exchanges.get(req);
    if (!exchange || exchange.abortedWith) return;
    exchange.abortedWith = error;
    if (exchange.proxyReq) exchange.proxyReq.destroy(error);
    else respondWithError(req, res, error);
  }

  const handlers = new Map<Upstream, ProxyHandler>();
  for (const [upstream, target] of Object.entries(options.upstreams) as Array<[Upstream, string]>) {
    handlers.set(
      upstream,
      createProxyMiddleware<IncomingMessage, ServerResponse>({
        target,
        agent,
        changeOrigin: true,
        xfwd: false,
        // The default plugins log and allocate per response; errors and aborts are handled below.
        ejectPlugins: true,
        plugins: [proxyEventsPlugin],
        // Replaces a client's "Connection: close" on the upstream leg so pooled sockets stay reusable.
        headers: { connection: 'keep-alive' },
        on: {
          proxyReq(proxyReq, req) {
            const exchange = exchanges.get(req);
            if (!exchange) return;
            exchange.proxyReq = proxyReq;
            if (exchange.abortedWith) proxyReq.destroy(exchange.abortedWith);
            else proxyReq.once('timeout', endIdleExchange);
          },
          proxyRes(proxyRes, req, res) {
            const exchange = exchanges.get(req);
            if (exchange?.deadline) clearTimeout(exchange.deadline);
            // Connection headers describe the pooled upstream socket; http-proxy then mirrors the
            // client's own Connection header instead (so "Connection: close" is honoured).
            // (Assigning undefined, which http-proxy skips, is cheaper than delete on a hot object.)
            proxyRes.headers.connection = undefined;
            proxyRes.headers['keep-alive'] = undefined;
            // The upstream's Vary (Accept) must not erase the gateway's (Origin).
            const vary = mergeVary(res.getHeader('vary'), proxyRes.headers.vary);
            if (vary !== undefined) proxyRes.headers.vary = vary;
          },
          error(err, req, res) {
            respondWithError(req, res, err);
          },
        },
      }),
    );
  }

  const forward: RequestHandler = (req, res, next) => {
    const upstream = req.gateway.route!.upstream!;
    const handler = handlers.get(upstream)!;
    prepareHeaders(req);
    const exchange: Exchange = { upstream, proxyReq: undefined, abortedWith: undefined, deadline: undefined };
    exchanges.set(req, exchange);
    // Covers connecting, waiting for a pooled socket and waiting for the response headers.
    exchange.deadline = setTimeout(() => abortExchange(req, res, GatewayErrors.upstreamTimeout()), timeoutMs);
    res.once('close', () => {
      clearTimeout(exchange.deadline);
      // Client gone before the answer was complete: release the upstream socket too.
      if (!res.writableFinished) exchange.proxyReq?.destroy();
    });
    const proxied = handler(req, res, next);
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] === undefined) return proxied;
    // Once http-proxy has piped the body, a chunked one is counted on its way through.
    return proxied.then(() => {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > bodyLimitBytes) {
          req.unpipe();
          abortExchange(req, res, Errors.tooLarge());
        }
      });
    });
  };

  return {
    forward,
    close() {
      agent.destroy();
    },
  };
}
