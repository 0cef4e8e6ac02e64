import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoSeedPath } from '../../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeSimulator } from '../../../src/simulators/passwordsafe/password-safe-simulator.js';
import { loadSeedFile } from '../../../src/simulators/passwordsafe/seed.js';

export const DEMO_KEY = 'demo-ps-api-key-0123456789';

/** Broker settings used against the demo estate (jdoe@corp.example.com sees web01, db01, app02). */
const BROKER_SECTIONS = `
userMapping:
  domains: { CORP: corp.example.com }
  rules:
    - name: contractors-denied
      match: { username: "regex:^(CORP\\\\\\\\)?ext-" }
      deny: External accounts cannot receive injected credentials
    - name: corp-to-upn
      match: { domain: CORP }
      transform: { domain: to-upn, case: lower }
endpointMatching:
  jumpGroups:
    - { jumpGroup: Web servers, sources: [local] }
broker:
  credentialIdKey: env:CREDENTIAL_ID_KEY
  policies:
    - name: production-needs-ticket
      jumpGroups: [Production]
      requireExternalKey: "^(CHG|INC)-\\\\d+$"
  search:
    jumpoints: { CORP: corp-jumpoint }
`;

/** The Password Safe simulator (HTTPS, demo seed) and a config file pointing the bridge at it. */
export async function startPsForBroker(seed = loadSeedFile(demoSeedPath)) {
  const sim = await PasswordSafeSimulator.start({ seed });
  const dir = mkdtempSync(join(tmpdir(), 'ecm-broker-ps-'));
  writeFileSync(join(dir, 'ca.pem'), sim.caPem);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    `
vault:
  kind: passwordsafe
  url: ${sim.url}
  caFile: ${join(dir, 'ca.pem')}
  auth: { method: apikey, apiKey: env:PS_API_KEY }
${BROKER_SECTIONS}`,
  );
  return {
    sim,
    configFile,
    env: { PS_API_KEY: DEMO_KEY, CREDENTIAL_ID_KEY: 'integration-credential-id-key-0123456789' },
    async close() {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
