// A TCP hop to the test Redis that can hold every byte the app sends (Redis hung or cut off) and let them through later.
import { createServer, Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { REDIS_URL } from './redis.js';

export class RedisHop {
  private server?: Server;
  private held = false;
  private readonly clients = new Set<Socket>();

  async start(): Promise<string> {
    const target = new URL(REDIS_URL);
    this.server = createServer((client) => {
      this.clients.add(client);
      const redis = new Socket().connect(Number(target.port || 6379), target.hostname);
      client.pipe(redis);
      redis.pipe(client);
      if (this.held) client.pause();
      const end = () => {
        this.clients.delete(client);
        client.destroy();
        redis.destroy();
      };
      client.on('close', end).on('error', end);
      redis.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `redis://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  hold(): void {
    this.held = true;
    for (const c of this.clients) c.pause();
  }

  release(): void {
    this.held = false;
    for (const c of this.clients) c.resume();
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}
