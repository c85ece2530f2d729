"use client";

import { useSyncExternalStore } from "react";
import { sessionUser, subscribe } from "./api";

/** useUser is the signed-in user, re-rendering when the session changes. */
export function useUser() {
  return useSyncExternalStore(subscribe, sessionUser, () => null);
}
