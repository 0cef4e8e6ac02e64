export { PasswordSafeSimulator } from './password-safe-simulator.js';
export { loadSeedFile } from './seed.js';
export { demoSeedPath } from './estate-generator.js';
