// The API client: the {success, data, meta} envelope, the access token kept in
// memory, and one transparent refresh-and-retry on TOKEN_EXPIRED.
//
// Where the tokens live: the access token (15 minutes) only in this module's
// memory, so no script-readable storage ever holds a bearer token that works
// against the API by itself. The refresh token in the turbocat_refresh cookie
// the API sets when asked with X-Turbocat-Session: cookie — HttpOnly (no
// script reads it), Secure, SameSite=Strict and scoped to the refresh route
// — so every tab of the browser shares the session: a new tab or a reload
// refreshes once and is signed in. It is single-use (rotated on every
// refresh; a replayed one revokes the whole family server-side); refreshes
// are serialised across tabs with a Web Lock, so two tabs never present the
// same token. localStorage holds only a hint that a session may exist (no
// credential), and a BroadcastChannel tells the other tabs of a log out.

import type { FieldError, Session, User } from "./types";

const HINT_KEY = "turbocat.signedIn";
const SESSION_HEADERS = { "X-Turbocat-Session": "cookie" };

let accessToken: string | null = null;
let currentUser: User | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

/** ApiError is an error answered by the API, with its code and field details. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: FieldError[];

  constructor(status: number, code: string, message: string, details: FieldError[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** fieldErrors maps an error's details to {field path: message}. */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof ApiError) {
    for (const d of err.details) {
      if (!(d.field in out)) out[d.field] = d.message;
    }
  }
  return out;
}

/** errorMessage is what to tell a person about err. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** mayHaveSession: a refresh cookie may exist (the hint; the cookie itself is unreadable). */
function mayHaveSession(): boolean {
  try {
    return typeof window !== "undefined" && window.localStorage.getItem(HINT_KEY) === "1";
  } catch {
    return false;
  }
}

function storeHint(on: boolean) {
  try {
    if (on) window.localStorage.setItem(HINT_KEY, "1");
    else window.localStorage.removeItem(HINT_KEY);
  } catch {
    // Storage disabled: only this page keeps the session.
  }
}

let channel: BroadcastChannel | null = null;
function sessionChannel(): BroadcastChannel | null {
  if (channel || typeof window === "undefined" || typeof BroadcastChannel === "undefined") return channel;
  channel = new BroadcastChannel("turbocat-session");
  channel.onmessage = (e) => {
    if (e.data === "logout") forget();
  };
  return channel;
}

function notify() {
  for (const l of listeners) l();
}

/** subscribe calls fn whenever the session changes; it returns the unsubscribe. */
export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** sessionUser is the signed-in user, or null. */
export function sessionUser(): User | null {
  return currentUser;
}

/** hasSession reports whether a session exists or can be resumed. */
export function hasSession(): boolean {
  return accessToken !== null || mayHaveSession();
}

/** setSession installs a session returned by register, login or refresh. */
export function setSession(s: Session) {
  accessToken = s.accessToken;
  currentUser = s.user;
  storeHint(true);
  sessionChannel();
  notify();
}

/** signIn posts credentials to login or register (the refresh token comes back as the cookie) and installs the session. */
export async function signIn(path: "/api/v1/auth/login" | "/api/v1/auth/register", body: unknown): Promise<Session> {
  const s = await api<Session>(path, { method: "POST", body, auth: false, headers: SESSION_HEADERS });
  setSession(s);
  return s;
}

/** setUser replaces the signed-in user (after a profile change). */
export function setUser(u: User) {
  currentUser = u;
  notify();
}

function forget() {
  accessToken = null;
  currentUser = null;
  storeHint(false);
  notify();
}

/** clearSession forgets the session in this tab and tells the others. */
export function clearSession() {
  forget();
  sessionChannel()?.postMessage("logout");
}

async function parse<T>(res: Response): Promise<T> {
  let body: { success?: boolean; data?: T; error?: { code: string; message: string; details?: FieldError[] } } | null =
    null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.ok && body && body.success !== false) return body.data as T;
  const e = body?.error;
  if (e) throw new ApiError(res.status, e.code, e.message, e.details ?? []);
  // Behind CloudFront the distribution's error page (/404.html) replaces
  // every 404 body, the API's JSON ones included: the status still says it.
  if (res.status === 404) throw new ApiError(404, "NOT_FOUND", "Not found: it may have been deleted.");
  throw new ApiError(res.status, "HTTP_" + res.status, `The server answered ${res.status} ${res.statusText}`.trim());
}

/** refreshSession rotates the refresh token once; concurrent callers share it. */
export function refreshSession(): Promise<boolean> {
  if (refreshing) return refreshing;
  if (!mayHaveSession()) return Promise.resolve(false);
  const once = async () => {
    const res = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...SESSION_HEADERS },
      body: "{}",
    });
    return parse<Session>(res);
  };
  refreshing = (async () => {
    try {
      // One refresh at a time across the browser's tabs: each presents the
      // cookie the previous one left.
      const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
      const s = locks ? await locks.request("turbocat-refresh", once) : await once();
      setSession(s);
      return true;
    } catch (err) {
      // A refusal (revoked, expired, reused) ends the session; a network
      // error, rate limiting or a server error keeps it for a later try.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) clearSession();
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export type RequestOptions = {
  method?: string;
  body?: unknown;
  auth?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
};

/** raw sends a request with the session and returns the Response, refreshing once on TOKEN_EXPIRED. */
export async function raw(path: string, opts: RequestOptions = {}): Promise<Response> {
  const auth = opts.auth ?? true;
  if (auth && !accessToken && mayHaveSession()) await refreshSession();
  const send = () => {
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
    return fetch(path, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  };
  let res = await send();
  if (auth && res.status === 401) {
    let code = "";
    try {
      code = (await res.clone().json())?.error?.code ?? "";
    } catch {
      code = "";
    }
    if (code === "TOKEN_EXPIRED" && (await refreshSession())) {
      res = await send();
    } else if (code === "UNAUTHORIZED" || code === "TOKEN_EXPIRED") {
      clearSession();
    }
  }
  return res;
}

/** api sends a request and returns the envelope's data, or throws ApiError. */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  return parse<T>(await raw(path, opts));
}

/** loadMe fetches the current user into the session. */
export async function loadMe(): Promise<User> {
  const u = await api<User>("/api/v1/auth/me");
  currentUser = u;
  notify();
  return u;
}

/** logout ends the cookie's session (its refresh family and access tokens) and forgets it in every tab. */
export async function logout() {
  try {
    await fetch("/api/v1/auth/refresh", { method: "DELETE", credentials: "same-origin" });
  } finally {
    clearSession();
  }
}

/** qs builds a query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}
