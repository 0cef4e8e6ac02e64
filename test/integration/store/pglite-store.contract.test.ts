import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { openStore } from '../../../src/app/open-store.js';
import type { PgliteStore } from '../../../src/store/pglite/store.js';
import { describeStoreContract, FAIL_VALUE } from './store-contract.js';

describeStoreContract('PGlite (memory://)', {
  open: () =>
    openStore(
      { kind: 'embedded', dataDir: 'memory://' },
      { log: silentLogger(), metrics: createMetricsRegistry({ defaultMetrics: false }) },
    ),
  async sessionIds(store, lsids) {
    const r = await (store as PgliteStore).db.query<{ lsid: string; id: number }>(
      'SELECT lsid, id FROM session WHERE lsid = ANY($1::varchar[])',
      [lsids],
    );
    return new Map(r.rows.map((x) => [x.lsid, x.id]));
  },
  async injectFailure(store) {
    await (store as PgliteStore).db.exec(`
      CREATE OR REPLACE FUNCTION fail_marked_attribute() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.value = '${FAIL_VALUE}' THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$;
      DROP TRIGGER IF EXISTS fail_marked_attribute ON custom_attribute;
      CREATE TRIGGER fail_marked_attribute BEFORE INSERT ON custom_attribute FOR EACH ROW EXECUTE FUNCTION fail_marked_attribute();`);
  },
});
