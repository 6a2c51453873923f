// The part of mailauth (no type declarations of its own) the DKIM signer uses: its relaxed body
// canonicalisation and hash, the same code its verifier runs.
declare module 'mailauth/lib/dkim/body/relaxed.js' {
  export class RelaxedHash {
    constructor(algorithm?: string, maxBodyLength?: number);
    update(chunk: Buffer | null, final?: boolean): void;
    digest(encoding: 'base64'): string;
  }
}
