// Sleepers in this process that another part of it can wake early, by key: a message waiting for the one before it, a
// notification waiting for its turn in its topic's line.
export class Waiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves after `ms`, or as soon as `key` is woken; answers how long it slept (ms). */
  async sleep(key: string, ms: number): Promise<number> {
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const set = this.waiting.get(key) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
      this.waiting.set(key, set);
    });
    return Date.now() - started;
  }

  /** Wakes every sleeper on `key`; false when none sleeps here. */
  wake(key: string): boolean {
    const here = this.waiting.get(key);
    if (!here) return false;
    for (const done of [...here]) done();
    return true;
  }
}
