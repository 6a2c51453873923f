// The build thread's entry when Posthorn runs from its TypeScript sources (tests, benchmarks):
// build-thread.ts through tsx. The production build runs dist/delivery/build-thread.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./build-thread.ts');
