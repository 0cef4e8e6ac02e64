import { MemoryStore } from '../../../src/store/memory/store.js';
import { describeStoreContract } from '../../integration/store/store-contract.js';

// The fake is the reference the real adapters are held to, so it passes the same suite
// (it has no row ids and no database to fail mid-batch: those two checks run on real adapters).
describeStoreContract('in-memory fake', { open: async () => new MemoryStore() });
