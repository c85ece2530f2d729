// The API client: the {success, data, meta} envelope, the access token kept in
// memory, and one transparent refresh-and-retry on TOKEN_EXPIRED.
//
// Where the tokens live: the access token (15 minutes) only in this module's
// memory, so no script-readable storage ever holds a bearer token that works
// against the API by itself. The refresh token in sessionStorage: a reload or a
// page opened by a full navigation keeps the session, closing the tab ends it,
// and it is single-use (rotated on every refresh; a replayed one revokes the
// whole family server-side), which limits what a stolen copy is worth.

import type { FieldError, Session, User } from "./types";

const REFRESH_KEY = "turbocat.refreshToken";

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

function storedRefreshToken(): string | null {
  try {
    return typeof window === "undefined" ? null : window.sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeRefreshToken(token: string | null) {
  try {
    if (token) window.sessionStorage.setItem(REFRESH_KEY, token);
    else window.sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
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
  return accessToken !== null || storedRefreshToken() !== null;
}

/** setSession installs a session returned by register, login or refresh. */
export function setSession(s: Session) {
  accessToken = s.accessToken;
  currentUser = s.user;
  storeRefreshToken(s.refreshToken);
  notify();
}

/** setUser replaces the signed-in user (after a profile change). */
export function setUser(u: User) {
  currentUser = u;
  notify();
}

/** clearSession forgets every token. */
export function clearSession() {
  accessToken = null;
  currentUser = null;
  storeRefreshToken(null);
  notify();
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
  const token = storedRefreshToken();
  if (!token) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const res = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refreshToken: token }),
      });
      const s = await parse<Session>(res);
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
  if (auth && !accessToken && storedRefreshToken()) await refreshSession();
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

/** logout revokes the session family and forgets the tokens. */
export async function logout() {
  const token = storedRefreshToken();
  try {
    if (token) await api("/api/v1/auth/logout", { method: "POST", body: { refreshToken: token } });
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
