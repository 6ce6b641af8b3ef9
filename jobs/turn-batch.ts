// Items that arrive in one turn of the event loop, written together: a burst costs one Redis write, not one per item.

export class TurnBatch<T> {
  private open?: { items: T[]; written: Promise<void> };

  constructor(
    private readonly max: number,
    private readonly write: (items: T[]) => Promise<void>,
  ) {}

  /** Resolves once the batch holding this item is written; rejects, for every item in it, if the write fails. */
  push(item: T): Promise<void> {
    if (!this.open || this.open.items.length >= this.max) {
      const items: T[] = [];
      const written = new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          if (this.open?.items === items) this.open = undefined;
          this.write(items).then(resolve, reject);
        }),
      );
      this.open = { items, written };
    }
    this.open.items.push(item);
    return this.open.written;
  }
}
