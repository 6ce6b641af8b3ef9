// Alert wiring in memory: each person's topic ARN, by lower-cased email.
import type { WiringRepository } from '../../core/repositories/wiring.js';

export class MemoryWiring implements WiringRepository {
  private readonly topics = new Map<string, string>();

  async setTopic(email: string, topicArn: string): Promise<void> {
    this.topics.set(email.toLowerCase(), topicArn);
  }

  async topicOf(email: string): Promise<string | undefined> {
    return this.topics.get(email.toLowerCase());
  }
}
