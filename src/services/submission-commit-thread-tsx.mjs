// The submission commit thread's entry when Posthorn runs from its TypeScript sources (tests,
// benchmarks): submission-commit-thread.ts through tsx. The build runs the .js directly.
import { register } from 'tsx/esm/api';

register();
await import('./submission-commit-thread.ts');
