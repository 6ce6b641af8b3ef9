// Which provisioned products belong to whom: the OwnerEmail tag is the source of truth.
import type { Actor, CoreDeps } from './context.js';
import { NotAuthorizedError, NotFoundError } from './errors.js';
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

/** Finds a product by its full name or the name without the owner's prefix; refuses another user's product. */
export async function ownProduct(deps: Pick<CoreDeps, 'catalog' | 'channels'>, actor: Actor, name: string): Promise<ProvisionedProduct> {
  const all = await deps.catalog.searchProvisioned();
  const wanted = [name, `${actor.username}-${name}`].map((n) => n.toLowerCase());
  const matches = all.filter((p) => wanted.includes(p.name.toLowerCase()));
  const mine = matches.find((p) => isOwner(p, actor.email));
  if (mine) return mine;
  if (matches.length > 0) throw new NotAuthorizedError(`${matches[0]!.name} belongs to someone else; you can act only on your own products.`);
  throw new NotFoundError(`You have no product called "${name}". See ${deps.channels.commandText(actor.platform, 'list')}.`);
}
