"use client";

import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { api, errorMessage, fieldErrors } from "./api";

/** useApi loads path (null skips) and exposes data, error and a reload. */
export function useApi<T>(path: string | null) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    api<T>(path, { signal: ctl.signal })
      .then((d) => {
        setData(d);
        setError(null);
      })
      .catch((e) => {
        if (!ctl.signal.aborted) setError(errorMessage(e));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
  }, [path, tick]);
  return { data, error, loading, reload, setData };
}

/**
 * useQueryParam reads one query parameter, following client-side navigation
 * (/executions/view?id=A → ?id=B keeps the page mounted). It is undefined
 * until hydration: a static export knows no query at build time.
 */
export function useQueryParam(name: string): string | null | undefined {
  const params = useSearchParams();
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated ? params.get(name) : undefined;
}

/**
 * useSubmit runs a form's action: busy while it runs, the API's field
 * errors (by field) or else its message, and done once it succeeded.
 */
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState(false);
  const submit = useCallback(async (e: React.FormEvent, action: () => Promise<void>) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setError(null);
    setDone(false);
    try {
      await action();
      setDone(true);
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      if (!Object.keys(fe).length) setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, errors, done, submit };
}
