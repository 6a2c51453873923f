import { useEffect, useRef, useState, type FormEvent } from 'react';
import { signIn, type Session } from '../api.ts';

/** Signs in with the first-start link's token (in the URL fragment), an API key, or email and password. */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<'key' | 'user'>('key');
  const [busy, setBusy] = useState(false);
  const tried = useRef(false);

  useEffect(() => {
    const token = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (!token || tried.current) return;
    tried.current = true;
    // The token works once: take it out of the address bar and the history at once.
    history.replaceState(null, '', window.location.pathname);
    setBusy(true);
    signIn({ token })
      .then(onSignedIn)
      .catch((e: Error) => setError(`The sign-in link did not work: ${e.message}. Sign in with your API key.`))
      .finally(() => setBusy(false));
  }, [onSignedIn]);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    setBusy(true);
    try {
      onSignedIn(
        await signIn(
          mode === 'key'
            ? { apiKey: String(form.get('apiKey') ?? '') }
            : { email: String(form.get('email') ?? ''), password: String(form.get('password') ?? '') },
        ),
      );
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Posthorn</h1>
      <div role="tablist" aria-label="Sign in with" className="tabs">
        <button type="button" role="tab" aria-selected={mode === 'key'} onClick={() => setMode('key')}>
          API key
        </button>
        <button type="button" role="tab" aria-selected={mode === 'user'} onClick={() => setMode('user')}>
          Email and password
        </button>
      </div>
      <form onSubmit={(e) => void submit(e)} aria-busy={busy}>
        {mode === 'key' ? (
          <label>
            API key
            <input
              name="apiKey"
              type="password"
              autoComplete="current-password"
              required
              placeholder="Ab3dE6gH.0123…"
            />
          </label>
        ) : (
          <>
            <label>
              Email
              <input name="email" type="email" autoComplete="username" required />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
          </>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </main>
  );
}
