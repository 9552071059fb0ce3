// The patient's chat page. Signs in with the OAuth 2.0 authorization-code flow and PKCE as a
// public client, keeps the tokens and the conversation in memory only (nothing about the
// patient is written to storage; a reload means signing in again), and talks to
// /v1/patient/assistant, which takes the patient from the token.

const REDIRECT = `${location.origin}/patient/`;
const state = { config: null, access: null, refresh: null, turns: [] };

const $ = (id) => document.getElementById(id);

function b64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomToken(bytes) {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function loadConfig() {
  const response = await fetch("/patient/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error("config");
  state.config = await response.json();
}

async function signIn() {
  const verifier = randomToken(48);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const nonce = randomToken(16);
  sessionStorage.setItem("phigate.pkce", JSON.stringify({ verifier, nonce }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: state.config.client_id,
    redirect_uri: REDIRECT,
    state: nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`/oauth/authorize?${query}`);
}

async function tokenRequest(fields) {
  const body = new URLSearchParams({ client_id: state.config.client_id, ...fields });
  const response = await fetch("/oauth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  if (!response.ok) return false;
  const tokens = await response.json();
  state.access = tokens.access_token;
  state.refresh = tokens.refresh_token || null;
  return true;
}

// Finishes a sign-in when the authorization server sent us back with a code.
async function finishSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  history.replaceState(null, "", REDIRECT);
  const saved = JSON.parse(sessionStorage.getItem("phigate.pkce") || "null");
  sessionStorage.removeItem("phigate.pkce");
  if (error) {
    $("sign-in-status").textContent = "Sign-in was not completed. Please try again.";
    return false;
  }
  if (!code) return false;
  if (!saved || params.get("state") !== saved.nonce) {
    $("sign-in-status").textContent = "That sign-in did not start here. Please sign in again.";
    return false;
  }
  const ok = await tokenRequest({
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT,
    code_verifier: saved.verifier,
  });
  if (!ok) $("sign-in-status").textContent = "Sign-in failed. Please try again.";
  return ok;
}

// Calls an API route with the access token, refreshing it once if it has expired.
async function api(path, options = {}) {
  const send = () =>
    fetch(path, {
      ...options,
      headers: { ...(options.headers || {}), authorization: `Bearer ${state.access}` },
    });
  let response = await send();
  if (response.status === 401 && state.refresh) {
    const ok = await tokenRequest({ grant_type: "refresh_token", refresh_token: state.refresh });
    if (ok) response = await send();
  }
  if (response.status === 401) {
    showSignedOut("Your session has ended. Please sign in again.");
  }
  return response;
}

function addTurn(role, text, emergency) {
  const item = document.createElement("li");
  item.className = emergency ? `${role} emergency` : role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Assistant";
  const body = document.createElement("span");
  body.textContent = text;
  item.append(who, body);
  if (emergency) item.setAttribute("role", "alert");
  $("log").append(item);
  item.scrollIntoView({ block: "nearest" });
}

async function ask(event) {
  event.preventDefault();
  const box = $("message");
  const text = box.value.trim();
  if (!text) return;
  const send = $("send");
  send.disabled = true;
  $("ask-status").textContent = "Sending…";
  const turns = [...state.turns, { role: "user", content: text }];
  addTurn("user", text, false);
  box.value = "";
  try {
    const response = await api("/v1/patient/assistant", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: turns }),
    });
    const reply = await response.json();
    if (!response.ok) {
      $("ask-status").textContent =
        reply?.error?.message || "The assistant could not answer. Please try again.";
      return;
    }
    state.turns = [...turns, { role: "assistant", content: reply.text }];
    addTurn("assistant", reply.text, Boolean(reply.safety?.emergency));
    $("ask-status").textContent = "";
    await refreshAppointments();
  } catch {
    $("ask-status").textContent = "The assistant could not be reached. Please try again.";
  } finally {
    send.disabled = false;
    box.focus();
  }
}

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
}

async function refreshAppointments() {
  const response = await api("/v1/patient/appointments");
  if (!response.ok) return;
  const { appointments } = await response.json();
  const list = $("appointments");
  list.replaceChildren();
  const upcoming = appointments.filter((a) => a.status === "booked");
  if (upcoming.length === 0) {
    const none = document.createElement("li");
    none.textContent = "No booked appointments.";
    list.append(none);
  }
  for (const a of upcoming) {
    const item = document.createElement("li");
    item.className = "appointment";
    item.textContent = `${when(a.start)} · ${a.service || "appointment"}`;
    list.append(item);
  }
}

function showSignedIn() {
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  $("message").focus();
  refreshAppointments();
}

function showSignedOut(message) {
  state.access = null;
  state.refresh = null;
  state.turns = [];
  $("log").replaceChildren();
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  $("sign-in-status").textContent = message || "";
}

async function signOut() {
  if (state.refresh) {
    const body = new URLSearchParams({ token: state.refresh, client_id: state.config.client_id });
    await fetch("/oauth/revoke", { method: "POST", body }).catch(() => {});
  }
  showSignedOut("You are signed out.");
}

async function start() {
  $("sign-in").addEventListener("click", () => {
    signIn().catch(() => {
      $("sign-in-status").textContent = "Sign-in could not start. Please try again.";
    });
  });
  $("ask").addEventListener("submit", ask);
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("ask").requestSubmit();
    }
  });
  $("new-conversation").addEventListener("click", () => {
    state.turns = [];
    $("log").replaceChildren();
    $("message").focus();
  });
  $("refresh").addEventListener("click", refreshAppointments);
  $("sign-out").addEventListener("click", signOut);
  try {
    await loadConfig();
  } catch {
    $("sign-in").disabled = true;
    $("sign-in-status").textContent = "The patient assistant is not set up yet. Please call the clinic.";
    return;
  }
  if (await finishSignIn()) showSignedIn();
}

start();
