// The part of mailsplit (no type declarations of its own) that Posthorn uses: split a message into
// nodes, rewrite the bodies of some, join it again with every other byte unchanged.
declare module 'mailsplit' {
  import { Transform } from 'node:stream';

  export interface MimeNode {
    contentType: string | false;
    charset: string | false;
    disposition: string | false;
    encoding: string | false;
  }

  export class Splitter extends Transform {}
  export class Joiner extends Transform {}
  export class Rewriter extends Transform {
    constructor(filter: (node: MimeNode) => boolean);
    on(event: 'node', listener: (data: { node: MimeNode; decoder: Transform; encoder: Transform }) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
