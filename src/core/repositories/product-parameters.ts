// The parameters scicomp set on provisioned products: those of each record it started, and of each product's last
// successful one (provisioned-parameters.ts says what is kept and how it is read).
export type Parameters = Record<string, string>;

export interface ProductParametersRepository {
  saveRecord(recordId: string, parameters: Parameters, ttlMs: number): Promise<void>;
  ofRecord(recordId: string): Promise<Parameters | undefined>;
  saveProduct(provisionedProductId: string, parameters: Parameters, ttlMs: number): Promise<void>;
  ofProduct(provisionedProductId: string): Promise<Parameters | undefined>;
  /** A terminated product: what it ran with is forgotten. */
  forgetProduct(provisionedProductId: string): Promise<void>;
}
