/** The ModelRegistry contract against the built-in registry on a real PostgreSQL. */
import { createBuiltinRegistry } from '../../adapters/registry/builtinRegistry.js';
import { modelRegistryContract } from '../support/modelRegistryContract.js';
import { createTestDatabase } from '../support/testDatabase.js';

modelRegistryContract('built-in (PostgreSQL)', async () => {
  const db = await createTestDatabase();
  return { registry: createBuiltinRegistry(db.pool), close: () => db.drop() };
});
