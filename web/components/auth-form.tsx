"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorMessage, fieldErrors, signIn } from "@/lib/api";
import { Button } from "./ui/button";
import { Card } from "./ui/card";
import { Field, FormError, Input } from "./ui/form";

/** AuthForm is the login or register form. */
export function AuthForm({ mode }: { mode: "login" | "register" }) {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [fullName, setFullName] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const isRegister = mode === "register";

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const body = isRegister ? { email, password, fullName } : { email, password };
      await signIn(`/api/v1/auth/${mode}`, body);
      const next = new URLSearchParams(window.location.search).get("next");
      router.replace(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      setFormError(Object.keys(fe).length ? null : errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card className="w-full max-w-sm p-6">
      <h1 className="mb-1 text-2xl font-semibold">{isRegister ? "Create your account" : "Sign in to Turbocat"}</h1>
      <p className="mb-5 text-sm text-muted-foreground">
        {isRegister
          ? "One account holds your agents, workflows and runs."
          : "Run AI-agent workflows on AWS serverless or on this machine."}
      </p>
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <FormError message={formError} />
        {isRegister ? (
          <Field label="Full name" error={errors.fullName}>
            <Input name="fullName" autoComplete="name" value={fullName} onChange={(e) => setFullName(e.target.value)} />
          </Field>
        ) : null}
        <Field label="Email" error={errors.email}>
          <Input
            name="email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </Field>
        <Field label="Password" error={errors.password} hint={isRegister ? "8 to 128 characters." : undefined}>
          <Input
            name="password"
            type="password"
            autoComplete={isRegister ? "new-password" : "current-password"}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        <Button type="submit" disabled={busy}>
          {busy ? (isRegister ? "Creating account…" : "Signing in…") : isRegister ? "Create account" : "Sign in"}
        </Button>
      </form>
      <p className="mt-4 text-sm text-muted-foreground">
        {isRegister ? (
          <>
            Already have an account?{" "}
            <Link className="text-primary underline" href="/login">
              Sign in
            </Link>
          </>
        ) : (
          <>
            New here?{" "}
            <Link className="text-primary underline" href="/register">
              Create an account
            </Link>
          </>
        )}
      </p>
    </Card>
  );
}
