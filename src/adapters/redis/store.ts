// Redis-backed state shared by every replica: JSON records, one-shot claims, and key naming under one prefix.
import type { Redis } from 'ioredis';

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

  /** True for exactly one caller until the key expires. */
  async claim(key: string, ttlMs: number, value = '1'): Promise<boolean> {
    return (await this.redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys);
  }
}
