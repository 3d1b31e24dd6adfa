// HEALTHCHECK for the image: GET /health (liveness, no dependency calls) on this container's own
// port with Node's http client, because the slim base image ships no curl or wget.
// The port is resolved the way the kit's loadCommonConfig resolves it: <SERVICE>_PORT, PORT, default.
import { request } from 'node:http';

const DEFAULT_PORTS = { gateway: 5000, auth: 5001, organization: 5002, user: 5003, media: 5004, timeseries: 5005, audit: 5006 };

const service = process.env.SERVICE ?? 'gateway';
const port = Number(process.env[`${service.toUpperCase()}_PORT`] || process.env.PORT || DEFAULT_PORTS[service]);
// Below the HEALTHCHECK --timeout (5 s), so a hung service is reported by this script, not killed.
const timeoutMs = 3000;

function fail(reason) {
  console.error(`${service} health check failed: ${reason}`);
  process.exit(1);
}

if (!Number.isInteger(port) || port <= 0) fail(`no port for service ${JSON.stringify(service)}`);

const req = request({ host: '127.0.0.1', port, path: '/health', headers: { accept: 'application/json' }, timeout: timeoutMs }, (res) => {
  res.resume();
  if (res.statusCode === 200) process.exit(0);
  fail(`GET /health answered ${res.statusCode}`);
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
req.on('error', (err) => fail(err.message));
req.end();
