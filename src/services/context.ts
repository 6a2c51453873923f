// The Context type moved to src/context.ts. This re-export remains only for files that other
// branches are changing now (http/marketing, services/subscriber-import*); point them at
// src/context.ts and delete this file once those branches are merged.
export type { Context } from '../context.ts';
