import { createMemoryStore } from '../../src/storage/memory-store.ts';
import { runObjectStoreContract } from './contract.ts';

runObjectStoreContract('memory', async () => ({ store: createMemoryStore(), cleanup: async () => undefined }));
