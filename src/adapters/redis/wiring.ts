// Alert wiring in Redis: each person's topic ARN, by lower-cased email.
import type { WiringRepository } from '../../core/repositories/wiring.js';
import type { Store } from './store.js';

export const userTopicKey = (store: Pick<Store, 'key'>, email: string) => store.key('user-topic', email.toLowerCase());

export class RedisWiring implements WiringRepository {
  constructor(private readonly store: Store) {}

  async setTopic(email: string, topicArn: string): Promise<void> {
    await this.store.redis.set(userTopicKey(this.store, email), topicArn);
  }

  async topicOf(email: string): Promise<string | undefined> {
    return (await this.store.redis.get(userTopicKey(this.store, email))) ?? undefined;
  }
}
