// The AUTH exchange of RFC 4954 for the PLAIN (RFC 4616) and LOGIN mechanisms, as plain steps: a
// challenge to send, the credentials the client gave, or a refusal. Whether the credentials are good
// is not decided here.

export interface Credentials {
  method: 'PLAIN' | 'LOGIN';
  username: string;
  password: string;
}

export type AuthStep = { method: 'PLAIN' } | { method: 'LOGIN'; username: string | null };

export type AuthOutcome =
  /** Send `reply` and read the client's next line as `continueAuth(step, line)`. */
  | { kind: 'challenge'; reply: string; step: AuthStep }
  | { kind: 'credentials'; credentials: Credentials }
  | { kind: 'refused'; reply: string };

const USERNAME = '334 VXNlcm5hbWU6'; // "Username:"
const PASSWORD = '334 UGFzc3dvcmQ6'; // "Password:"

/** `AUTH <mechanism> [initial-response]`. */
export function beginAuth(args: string): AuthOutcome {
  const [mechanism = '', initial] = args.split(' ');
  switch (mechanism.toUpperCase()) {
    case 'PLAIN':
      return initial === undefined
        ? { kind: 'challenge', reply: '334 ', step: { method: 'PLAIN' } }
        : plainResponse(initial);
    case 'LOGIN':
      return initial === undefined
        ? { kind: 'challenge', reply: USERNAME, step: { method: 'LOGIN', username: null } }
        : { kind: 'challenge', reply: PASSWORD, step: { method: 'LOGIN', username: decodeBase64(initial) } };
    default:
      return { kind: 'refused', reply: '504 5.5.4 Unrecognized authentication type' };
  }
}

/** The client's answer to a challenge; `*` cancels the exchange. */
export function continueAuth(step: AuthStep, line: string): AuthOutcome {
  const answer = line.trim();
  if (answer === '*') return { kind: 'refused', reply: '501 5.0.0 Authentication aborted' };
  if (step.method === 'PLAIN') return plainResponse(answer);
  if (step.username === null)
    return { kind: 'challenge', reply: PASSWORD, step: { method: 'LOGIN', username: decodeBase64(answer) } };
  return {
    kind: 'credentials',
    credentials: { method: 'LOGIN', username: step.username, password: decodeBase64(answer) },
  };
}

/** authorization identity NUL authentication identity NUL password; `=` is the empty response. */
function plainResponse(response: string): AuthOutcome {
  const parts = response === '=' ? [] : decodeBase64(response).split('\0');
  if (parts.length !== 3) return { kind: 'refused', reply: '501 5.5.2 Cannot decode the AUTH PLAIN response' };
  return { kind: 'credentials', credentials: { method: 'PLAIN', username: parts[1], password: parts[2] } };
}

function decodeBase64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}
