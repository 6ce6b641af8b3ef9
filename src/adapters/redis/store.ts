// Redis-backed state shared by every replica: JSON records, one-shot claims, and key naming under one prefix.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const SHAS = new Map<string, string>();

export class Store {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.redis.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  async setJson(key: string, value: unknown, ttlMs?: number): Promise<void> {
    const raw = JSON.stringify(value);
    if (ttlMs) await this.redis.set(key, raw, 'PX', ttlMs);
    else await this.redis.set(key, raw);
  }

  /** Atomically read and delete: exactly one caller gets the value (a confirmation is used once). */
  async take<T>(key: string): Promise<T | undefined> {
    const raw = await this.redis.getdel(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  /** Runs a Lua script by its SHA, sending the text only when Redis does not have it yet (first use, or after a restart). */
  async script<T>(lua: string, keys: string[], args: (string | number)[]): Promise<T> {
    let sha = SHAS.get(lua);
    if (!sha) SHAS.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
    try {
      return (await this.redis.evalsha(sha, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return (await this.redis.eval(lua, keys.length, ...keys, ...args)) as T;
    }
  }

  /** True for exactly one caller until the key expires. */
  async claim(key: string, ttlMs: number, value = '1'): Promise<boolean> {
    return (await this.redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys);
  }
}
