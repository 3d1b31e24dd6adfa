import { createHash } from 'node:crypto';
import { revokedKey } from '@heartguard/kit';
import type { Redis } from 'ioredis';
import type { BucketSpec, BucketState, ConsumeRequest, ConsumeResult, RateLimitStore } from './store.js';

/**
 * Token buckets, charged all-or-nothing, plus the revocation lookup, in one atomic script.
 * KEYS[1..n] are buckets, KEYS[n+1] (optional) the revocation key of the caller's jti.
 * ARGV[1] = n, then limit and window (ms) per bucket. The clock is Redis's own TIME, so
 * every replica charges against the same time line whatever its local clock says.
 * Reply: allowed, then remaining / ms-to-full / ms-to-next-token per bucket, then revoked.
 */
export const TOKEN_BUCKET_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local tokens, stamps, limits, windows = {}, {}, {}, {}
local allowed = 1
for i = 1, n do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 'tk', 'ts')
  local tk, ts = tonumber(state[1]), tonumber(state[2])
  if tk == nil or ts == nil then
    tk, ts = limit, now
  elseif now > ts then
    tk = math.min(limit, tk + (now - ts) * limit / window)
    ts = now
  end
  tokens[i], stamps[i], limits[i], windows[i] = tk, ts, limit, window
  if tk < 1 then allowed = 0 end
end
local reply = { allowed }
for i = 1, n do
  local tk, limit, window = tokens[i], limits[i], windows[i]
  if allowed == 1 then
    tk = tk - 1
    redis.call('HSET', KEYS[i], 'tk', tostring(tk), 'ts', tostring(stamps[i]))
    redis.call('PEXPIRE', KEYS[i], window)
  end
  local wait = 0
  if tk < 1 then wait = math.ceil((1 - tk) * window / limit) end
  reply[#reply + 1] = math.floor(tk)
  reply[#reply + 1] = math.ceil((limit - tk) * window / limit)
  reply[#reply + 1] = wait
end
local revoked = 0
if #KEYS > n then revoked = redis.call('EXISTS', KEYS[n + 1]) end
reply[#reply + 1] = revoked
return reply
`;

const SCRIPT_SHA = createHash('sha1').update(TOKEN_BUCKET_SCRIPT).digest('hex');

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly name = 'redis';

  constructor(private readonly redis: Redis) {}

  /** SCRIPT LOAD once at start-up; EVALSHA afterwards sends only the digest. */
  async load(): Promise<void> {
    const sha = await this.redis.script('LOAD', TOKEN_BUCKET_SCRIPT);
    if (sha !== SCRIPT_SHA) throw new Error(`Redis returned an unexpected script digest ${String(sha)}`);
  }

  /** False while the client is not connected: commands would fail at once anyway. */
  isAvailable(): boolean {
    return this.redis.status === 'ready';
  }

  async consume({ buckets, jti }: ConsumeRequest): Promise<ConsumeResult> {
    const args: Array<string | number> = [];
    for (const bucket of buckets) args.push(bucket.key);
    if (jti !== undefined) args.push(revokedKey(jti));
    const keyCount = args.length;
    args.push(buckets.length);
    for (const bucket of buckets) args.push(bucket.limit, bucket.windowMs);
    let reply: unknown;
    try {
      reply = await this.redis.evalsha(SCRIPT_SHA, keyCount, ...args);
    } catch (err) {
      // Redis restarted or flushed its script cache: load the script again and retry once.
      if (!isNoScript(err)) throw err;
      await this.load();
      reply = await this.redis.evalsha(SCRIPT_SHA, keyCount, ...args);
    }
    return parseReply(reply as number[], buckets, jti !== undefined);
  }
}

function parseReply(reply: number[], buckets: BucketSpec[], checkedRevocation: boolean): ConsumeResult {
  const states: BucketState[] = buckets.map((bucket, i) => {
    const base = 1 + i * 3;
    return { limit: bucket.limit, remaining: reply[base]!, resetMs: reply[base + 1]!, retryAfterMs: reply[base + 2]! };
  });
  return { allowed: reply[0] === 1, buckets: states, revoked: checkedRevocation ? reply[1 + buckets.length * 3] === 1 : false };
}
