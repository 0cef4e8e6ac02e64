import { describe, expect, it } from 'vitest';
import { demoSeedPath, generateEstate } from '../../../src/simulators/passwordsafe/estate-generator.js';
import { EstateIndex } from '../../../src/simulators/passwordsafe/estate-index.js';
import { loadSeedFile, parseSeed } from '../../../src/simulators/passwordsafe/seed.js';

describe('Password Safe simulator seeds', () => {
  it('loads the demo fixture with the names other tests rely on', () => {
    const estate = new EstateIndex(loadSeedFile(demoSeedPath), 0);
    expect(estate.systems.map((s) => s.name)).toEqual(['web01', 'db01', 'app02', 'corp.example.com']);
    expect(estate.findUser('JDOE@corp.example.com')?.groups).toEqual(['windows admins', 'linux ops']);
    expect(estate.linkedByTarget.get(1)?.map((a) => a.name)).toEqual(['svc-web']);
  });

  it('reports every unresolved reference with its path', () => {
    const seed = parseSeed({
      platforms: [{ id: 1, name: 'Windows', shortName: 'WIN' }],
      workgroups: [{ id: 1, name: 'CORP' }],
      users: [{ name: 'u', groups: ['Nope'] }],
      systems: [{ name: 's', platform: 'Solaris', workgroup: 'CORP' }],
      accounts: [{ system: 'missing', name: 'a', password: 'x' }],
    });
    expect(() => new EstateIndex(seed, 0)).toThrow(
      /systems\.0\.platform: unknown platform "Solaris"[\s\S]*accounts\.0\.system: unknown system "missing"[\s\S]*users\.0\.groups: unknown group "Nope"/,
    );
    expect(() => parseSeed({ systems: [{ name: 's' }] }, 'x.yaml')).toThrow(
      /x\.yaml: invalid Password Safe seed:[\s\S]*systems\.0\.platform/,
    );
  });

  it('generates a large regular estate with grants by workgroup', () => {
    const seed = generateEstate({ systems: 1000, accounts: 3000, workgroups: 10, usersPerWorkgroup: 1 });
    const estate = new EstateIndex(seed, 0);
    expect(estate.systems).toHaveLength(1000);
    expect(estate.accounts).toHaveLength(3000);
    expect(estate.grantedAccounts(estate.findUser('u1-1@corp.example.com')!).size).toBe(300);
    expect(new Set(seed.systems.map((s) => s.ip)).size).toBe(1000);
  });
});
