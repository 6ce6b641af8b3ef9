// Which provisioned products belong to whom: the OwnerEmail tag is the source of truth.
import type { Actor, CoreDeps } from './context.js';
import { NotFoundError } from './errors.js';
import type { ProvisionedProduct } from './ports.js';

export function ownerOf(p: ProvisionedProduct): string | undefined {
  return p.tags.OwnerEmail?.toLowerCase();
}

export function isOwner(p: ProvisionedProduct, email: string): boolean {
  return ownerOf(p) === email.toLowerCase();
}

export async function productsOwnedBy(deps: Pick<CoreDeps, 'catalog'>, email: string): Promise<ProvisionedProduct[]> {
  const all = await deps.catalog.searchProvisioned();
  return all.filter((p) => isOwner(p, email)).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Finds a product by its full name or the name without the owner's prefix. Another user's product gets the very answer a
 * missing one does, so no verb tells a user which names exist.
 */
export async function ownProduct(deps: Pick<CoreDeps, 'catalog'>, actor: Actor, name: string): Promise<ProvisionedProduct> {
  const all = await deps.catalog.searchProvisioned();
  const wanted = [name, `${actor.username}-${name}`].map((n) => n.toLowerCase());
  const mine = all.find((p) => wanted.includes(p.name.toLowerCase()) && isOwner(p, actor.email));
  if (mine) return mine;
  throw new NotFoundError(`You have no product called "${name}". See /scicomp list.`);
}
