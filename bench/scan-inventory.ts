// The reads as they were before the inventory, for comparison: every lookup pages through the whole account.
import type { Inventory, ReplaceOutcome } from '../src/core/inventory.js';
import { isOwner } from '../src/core/ownership.js';
import type { CatalogPort, ProvisionedProduct } from '../src/core/ports.js';

export class ScanInventory implements Inventory {
  constructor(private readonly catalog: CatalogPort) {}

  /** One scan per lookup. */
  private all(): Promise<ProvisionedProduct[]> {
    return this.catalog.searchProvisioned();
  }

  async byId(id: string): Promise<ProvisionedProduct | undefined> {
    return (await this.all()).find((p) => p.id === id);
  }

  async byOwner(email: string): Promise<ProvisionedProduct[]> {
    return (await this.all()).filter((p) => isOwner(p, email));
  }

  async byName(name: string): Promise<ProvisionedProduct[]> {
    return (await this.all()).filter((p) => p.name.toLowerCase() === name.toLowerCase());
  }

  async upsert(): Promise<void> {}
  async remove(): Promise<void> {}

  // Nothing to snapshot: the account itself is read every time, so it is never cold.
  async beginSnapshot(): Promise<number | undefined> {
    return undefined;
  }

  async holdSnapshot(): Promise<boolean> {
    return false;
  }

  async replaceAll(): Promise<ReplaceOutcome> {
    return { applied: false, added: 0, updated: 0, removed: 0, kept: 0, total: 0 };
  }

  async abandonSnapshot(): Promise<void> {}

  async syncedAt(): Promise<number | undefined> {
    return 0;
  }
}
