// Which provisioned products belong to whom: the OwnerEmail tag is the source of truth, read from the inventory.
import type { Actor, CoreDeps } from './context.js';
import { NotFoundError } from './errors.js';
import { refreshProduct, warmInventory } from './inventory.js';
import type { ProvisionedProduct } from './ports.js';

type Deps = Pick<CoreDeps, 'catalog' | 'inventory' | 'clock' | 'inventoryPacing'>;
/** What finding one's own product needs: the inventory, and the channel's words for the hint. */
type NamedDeps = Deps & Pick<CoreDeps, 'channels'>;

export function ownerOf(p: ProvisionedProduct): string | undefined {
  return p.tags.OwnerEmail?.toLowerCase();
}

export function isOwner(p: ProvisionedProduct, email: string): boolean {
  return ownerOf(p) === email.toLowerCase();
}

export async function productsOwnedBy(deps: Deps, email: string): Promise<ProvisionedProduct[]> {
  await warmInventory(deps);
  return (await deps.inventory.byOwner(email)).sort((a, b) => a.name.localeCompare(b.name));
}

/** One product by its id, from the inventory. */
export async function productById(deps: Deps, id: string): Promise<ProvisionedProduct | undefined> {
  await warmInventory(deps);
  return deps.inventory.byId(id);
}

/**
 * Finds a product by its full name or the name without the owner's prefix. Another user's product gets the very answer a
 * missing one does, so no verb tells a user which names exist.
 */
export async function ownProduct(deps: NamedDeps, actor: Actor, name: string): Promise<ProvisionedProduct> {
  await warmInventory(deps);
  for (const wanted of new Set([name, `${actor.username}-${name}`].map((n) => n.toLowerCase()))) {
    const mine = (await deps.inventory.byName(wanted)).find((p) => isOwner(p, actor.email));
    if (mine) return mine;
  }
  throw new NotFoundError(`You have no product called "${name}". See ${deps.channels.commandText(actor.platform, 'list')}.`);
}

/** `ownProduct`, then that one product re-read from Service Catalog: for changing it, not only showing it. */
export async function ownProductFresh(deps: NamedDeps, actor: Actor, name: string): Promise<ProvisionedProduct> {
  const known = await ownProduct(deps, actor, name);
  const fresh = await refreshProduct(deps, known.id);
  // Gone, or given away since the inventory last heard: either way not the actor's, said as for a missing one.
  if (!fresh || !isOwner(fresh, actor.email)) throw new NotFoundError(`You have no product called "${name}". See ${deps.channels.commandText(actor.platform, 'list')}.`);
  return fresh;
}
