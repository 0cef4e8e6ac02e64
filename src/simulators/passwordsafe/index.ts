export { PasswordSafeSimulator, PS_BASE_PATH, type PasswordSafeSimulatorOptions } from './password-safe-simulator.js';
export { loadSeedFile, parseSeed, type Seed, type SeedInput } from './seed.js';
export { generateEstate, demoSeedPath, BENCH_API_KEY, type EstateSize } from './estate-generator.js';
export { SimFaults } from './sim-faults.js';
export { CallTrace, sequentialRounds, type TracedCall } from './sim-call-trace.js';
