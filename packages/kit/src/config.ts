import { readFileSync } from 'node:fs';

/**
 * Typed readers over the environment. Each throws a ConfigError naming the variable, so a
 * service refuses to boot with a clear message instead of failing on first use.
 */
export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Reads NAME, or the contents of the file named by NAME_FILE (Docker/Kubernetes secrets). */
export function readRaw(env: Env, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      throw new ConfigError(`${name}_FILE`, `points to an unreadable file (${file})`);
    }
  }
  return undefined;
}

export function readString(env: Env, name: string, fallback?: string): string {
  const value = readRaw(env, name) ?? fallback;
  if (value === undefined) throw new ConfigError(name, 'is required');
  return value;
}

export function readOptional(env: Env, name: string): string | undefined {
  return readRaw(env, name);
}

export function readInt(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (range.min !== undefined && value < range.min) throw new ConfigError(name, `must be >= ${range.min}`);
  if (range.max !== undefined && value > range.max) throw new ConfigError(name, `must be <= ${range.max}`);
  return value;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

export function readList(env: Env, name: string, fallback: string[] = []): string[] {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function readUrl(env: Env, name: string, fallback?: string): string {
  const value = readString(env, name, fallback);
  try {
    new URL(value);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  return value;
}

const DURATION = /^(\d+)\s*(ms|s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "900", "15m", "1h", "7d" into seconds (a bare number means seconds). */
export function readDurationSeconds(
  env: Env,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
): number {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  const match = DURATION.exec(raw.trim());
  if (!match) throw new ConfigError(name, `must be a duration like 900, 15m, 1h or 7d, got "${raw}"`);
  const value = Math.round(Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1));
  if (range.min !== undefined && value < range.min) throw new ConfigError(name, `must be at least ${range.min}s`);
  if (range.max !== undefined && value > range.max) throw new ConfigError(name, `must be at most ${range.max}s`);
  return value;
}

export interface RateSpec {
  limit: number;
  windowSeconds: number;
}

const RATE = /^(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)$/i;

/** Parses RATE_LIMIT style values: "100/min", "10/s", "1000/hour". */
export function readRate(env: Env, name: string, fallback: RateSpec): RateSpec {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  const match = RATE.exec(raw.trim());
  if (!match) throw new ConfigError(name, `must look like 100/min, got "${raw}"`);
  const unit = match[2]!.toLowerCase()[0]!;
  const windowSeconds = unit === 's' ? 1 : unit === 'm' ? 60 : 3600;
  const limit = Number(match[1]);
  if (limit < 1) throw new ConfigError(name, 'must allow at least one request');
  return { limit, windowSeconds };
}
