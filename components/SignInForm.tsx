/**
 * The dashboard's sign-in: one field labelled `Access token` and a `Sign in` button. The token is
 * handed to `onSignIn` and never shown again (a password field, no autocomplete). `error` says why
 * the last attempt failed, e.g. the server's reason for refusing the token; it is rendered as text.
 */
import { useState } from 'preact/hooks';

export interface SignInFormProps {
  /** Why signing in failed, or `null`. */
  readonly error: string | null;
  /** Set while a sign-in is on its way, which disables the form and says so. */
  readonly busy: boolean;
  readonly onSignIn: (token: string) => void;
}

export function SignInForm({ error, busy, onSignIn }: SignInFormProps) {
  const [token, setToken] = useState('');
  const [empty, setEmpty] = useState(false);

  function submit(event: Event): void {
    event.preventDefault();
    const trimmed = token.trim();
    setEmpty(trimmed === '');
    if (trimmed !== '') onSignIn(trimmed);
  }

  const message = empty ? 'Paste an access token first' : error;
  return (
    <form class="sign-in" onSubmit={submit} noValidate>
      <h2 id="sign-in-heading">Sign in</h2>
      <fieldset disabled={busy}>
        <label for="sign-in-token">Access token</label>
        <input
          id="sign-in-token"
          name="token"
          type="password"
          value={token}
          onInput={(event) => {
            setToken(event.currentTarget.value);
            setEmpty(false);
          }}
          autocomplete="off"
          spellcheck={false}
          placeholder="Paste the token your administrator gave you"
          aria-invalid={message !== null}
          aria-describedby={message !== null ? 'sign-in-error' : undefined}
        />
        <button type="submit">Sign in</button>
      </fieldset>
      {busy && <p class="hint">Signing in…</p>}
      {message !== null && !busy && (
        <p id="sign-in-error" class="error" role="alert">
          {message}
        </p>
      )}
    </form>
  );
}
