// Signing in with Phigate's own OAuth server: authorization code with PKCE (S256), as a public
// client. Tokens live in this module's memory only: a reload or a new tab signs in again, and no
// other script on the origin can read them from storage. The only thing kept in sessionStorage
// is the PKCE verifier and state of a sign-in in progress, which must survive the round trip
// through the sign-in page; it is removed as soon as the code comes back.

export const CLIENT_ID = 'phigate-console';
const PENDING = 'phigate.console.pending';
/** Refresh this many seconds before the access token expires. */
const EARLY = 60;

let tokens = null;
let timer = null;
let onExpired = () => {};

const redirectUri = () => `${location.origin}/console/callback`;

function base64url(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n) {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** Called when the session ends without the person signing out (refresh refused). */
export function whenExpired(callback) {
  onExpired = callback;
}

/** Goes to the sign-in page. */
export async function startSignIn() {
  const verifier = random(32);
  const state = random(16);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    code_challenge: base64url(digest),
    code_challenge_method: 'S256',
    state,
  });
  location.assign(`/oauth/authorize?${params}`);
}

async function tokenRequest(fields) {
  const response = await fetch('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT_ID, ...fields }),
    credentials: 'omit',
    cache: 'no-store',
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.error_description || 'The sign-in server refused the request.');
  }
  return body;
}

function claimsOf(jwt) {
  const part = jwt.split('.')[1] || '';
  const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(text);
}

function keep(body) {
  tokens = {
    access: body.access_token,
    refresh: body.refresh_token || (tokens && tokens.refresh),
    expiresAt: Date.now() + body.expires_in * 1000,
    claims: claimsOf(body.access_token),
  };
  clearTimeout(timer);
  const wait = Math.max(5, body.expires_in - EARLY) * 1000;
  timer = setTimeout(() => refresh().catch(() => expire()), wait);
}

function expire() {
  tokens = null;
  clearTimeout(timer);
  onExpired();
}

/** Uses the refresh token for a new access token (the refresh token rotates). */
export async function refresh() {
  if (!tokens || !tokens.refresh) throw new Error('Not signed in.');
  keep(await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh }));
}

/**
 * On the callback page, exchanges the code for tokens and takes the code out of the address
 * bar. Returns true when signed in. Elsewhere, returns false.
 */
export async function completeSignIn() {
  if (location.pathname !== '/console/callback') return false;
  const params = new URLSearchParams(location.search);
  history.replaceState(null, '', '/console/');
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  if (params.get('error')) {
    throw new Error(params.get('error_description') || 'Sign-in was refused.');
  }
  if (!pending || params.get('state') !== pending.state || !params.get('code')) {
    throw new Error('This sign-in did not start here; sign in again.');
  }
  keep(await tokenRequest({
    grant_type: 'authorization_code',
    code: params.get('code'),
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  }));
  return true;
}

/** Revokes the session's tokens and forgets them. */
export async function signOut() {
  const held = tokens;
  tokens = null;
  clearTimeout(timer);
  if (!held) return;
  for (const token of [held.refresh, held.access]) {
    if (!token) continue;
    await fetch('/oauth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, token }),
      credentials: 'omit',
    }).catch(() => {});
  }
}

/** The signed-in person's claims (subject, roles, scope), or null. */
export function claims() {
  return tokens && tokens.claims;
}

/** Whether the session holds `scope`. */
export function has(scope) {
  return Boolean(tokens) && tokens.claims.scope.split(' ').includes(scope);
}

/** An error from the gateway, with its status and PHI-free message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls a gateway route with the session's token; JSON in, JSON out. */
export async function api(method, path, body) {
  if (!tokens) throw new ApiError(401, 'Not signed in.');
  if (Date.now() > tokens.expiresAt - EARLY * 1000) {
    await refresh().catch(() => expire());
    if (!tokens) throw new ApiError(401, 'The session has ended; sign in again.');
  }
  const headers = { authorization: `Bearer ${tokens.access}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || `The gateway answered ${response.status}.`;
    throw new ApiError(response.status, message);
  }
  return data;
}
