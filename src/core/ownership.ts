// Which provisioned products belong to whom: the OwnerEmail tag is the source of truth, read from the inventory.
import type { Actor, CoreDeps } from './context.js';
import { NotAuthorizedError, NotFoundError } from './errors.js';
import { refreshProduct, warmInventory } from './inventory.js';
import type { ProvisionedProduct } from './ports.js';

type Deps = Pick<CoreDeps, 'catalog' | 'inventory' | 'clock' | 'inventoryPacing'>;

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

function notYours(p: ProvisionedProduct): NotAuthorizedError {
  return new NotAuthorizedError(`${p.name} belongs to someone else; you can act only on your own products.`);
}

/** Finds a product by its full name or the name without the owner's prefix; refuses another user's product. */
export async function ownProduct(deps: Deps, actor: Actor, name: string): Promise<ProvisionedProduct> {
  await warmInventory(deps);
  const matches: ProvisionedProduct[] = [];
  for (const wanted of new Set([name, `${actor.username}-${name}`].map((n) => n.toLowerCase()))) {
    matches.push(...(await deps.inventory.byName(wanted)));
    const mine = matches.find((p) => isOwner(p, actor.email));
    if (mine) return mine;
  }
  if (matches.length > 0) throw notYours(matches[0]!);
  throw new NotFoundError(`You have no product called "${name}". See /scicomp list.`);
}

/** `ownProduct`, then that one product re-read from Service Catalog: for changing it, not only showing it. */
export async function ownProductFresh(deps: Deps, actor: Actor, name: string): Promise<ProvisionedProduct> {
  const known = await ownProduct(deps, actor, name);
  const fresh = await refreshProduct(deps, known.id);
  if (!fresh) throw new NotFoundError(`${known.name} no longer exists. See /scicomp list.`);
  if (!isOwner(fresh, actor.email)) throw notYours(fresh);
  return fresh;
}
