import { packagePath } from '../../platform/package-path.js';
import type { Seed } from './seed.js';

/** The demo fixture. */
export const demoSeedPath = packagePath('config/demo/passwordsafe-seed.yaml');

export interface EstateSize {
  systems: number;
  /** Spread evenly over the systems (at least one per system). */
  accounts: number;
  /** Workgroups the systems are spread over; one group per workgroup grants all of it. */
  workgroups?: number;
  /** Users per workgroup group (user `u{w}-{n}@corp.example.com`). */
  usersPerWorkgroup?: number;
}

export const BENCH_API_KEY = 'bench-ps-api-key-0123456789';

/**
 * A large, regular estate for benchmarks: `systems` Windows/Linux servers named `srv000001` ...
 * with DNS names and unique IPs, `accounts` spread over them, workgroups `WG01` ..., and per
 * workgroup a group granting it and its users. Built directly in the Seed shape (no YAML round
 * trip), so 100,000 systems and 300,000 accounts take well under a second.
 */
export function generateEstate(size: EstateSize): Seed {
  const wgCount = size.workgroups ?? 20;
  const usersPer = size.usersPerWorkgroup ?? 5;
  const wgName = (i: number) => `WG${String(i + 1).padStart(2, '0')}`;
  const seed: Seed = {
    sessionIdleSeconds: 1200,
    platforms: [
      { id: 1, name: 'Windows', shortName: 'WIN', defaultPort: 3389, sessionType: 'RDP' },
      { id: 2, name: 'Linux', shortName: 'LNX', defaultPort: 22, sessionType: 'SSH' },
    ],
    workgroups: Array.from({ length: wgCount }, (_, i) => ({ id: i + 1, name: wgName(i) })),
    groups: Array.from({ length: wgCount }, (_, i) => ({
      name: `Ops ${wgName(i)}`,
      systemsRead: true,
      grants: [{ workgroup: wgName(i) }],
    })),
    users: [],
    registrations: [],
    systems: [],
    accounts: [],
  };
  for (let w = 0; w < wgCount; w++) {
    for (let n = 1; n <= usersPer; n++)
      seed.users.push({ name: `u${w + 1}-${n}@corp.example.com`, groups: [`Ops ${wgName(w)}`] });
  }
  seed.registrations.push({
    kind: 'apikey',
    name: 'bench',
    key: BENCH_API_KEY,
    groups: seed.groups.map((g) => g.name),
    requirePassword: false,
    allowedAddresses: [],
  });
  for (let i = 1; i <= size.systems; i++) {
    const name = `srv${String(i).padStart(6, '0')}`;
    seed.systems.push({
      id: i,
      name,
      dnsName: `${name}.corp.example.com`,
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      platform: i % 3 === 0 ? 'Linux' : 'Windows',
      workgroup: wgName(i % wgCount),
      releaseDuration: 120,
      maxReleaseDuration: 525_600,
    });
  }
  for (let j = 0; j < Math.max(size.accounts, size.systems); j++) {
    const sys = seed.systems[j % size.systems]!;
    seed.accounts.push({
      id: j + 1,
      system: sys.name,
      name: j < size.systems ? 'Administrator' : `svc${Math.floor(j / size.systems)}`,
      password: `Pw-${j + 1}-bench`,
      apiEnabled: true,
      defaultReleaseMinutes: 120,
      maxReleaseMinutes: 525_600,
      requiresApproval: false,
      rotateOnCheckin: false,
      linkedTo: [],
    });
  }
  return seed;
}
