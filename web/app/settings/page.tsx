"use client";

import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Badge, Card, CardTitle, EmptyState, PageHeader, Spinner } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy";
import { ConfirmButton } from "@/components/ui/dialog";
import { Field, FormError, Input } from "@/components/ui/form";
import { api, errorMessage, fieldErrors, setUser, signIn } from "@/lib/api";
import { useApi, useSubmit } from "@/lib/hooks";
import { useUser } from "@/lib/session";
import { SCOPES, type APIKey, type CreatedAPIKey, type Page, type SecretMeta, type User } from "@/lib/types";
import { formatTime } from "@/lib/utils";

export default function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" description="Your profile, password, API keys and secrets." />
      <div className="grid gap-6 xl:grid-cols-2">
        <div className="flex flex-col gap-6">
          <Profile />
          <Password />
        </div>
        <div className="flex flex-col gap-6">
          <ApiKeys />
          <Secrets />
        </div>
      </div>
    </>
  );
}

function Profile() {
  const user = useUser();
  if (!user) return null;
  return <ProfileForm key={user.id} user={user} />;
}

function ProfileForm({ user }: { user: User }) {
  const [fullName, setFullName] = useState(user.fullName);
  const [email, setEmail] = useState(user.email);
  const [current, setCurrent] = useState("");
  const { busy, error, errors, done, submit } = useSubmit();
  const emailChanged = email.trim().toLowerCase() !== user.email;
  return (
    <Card>
      <CardTitle>Profile</CardTitle>
      <form
        className="flex flex-col gap-3"
        noValidate
        aria-label="Profile"
        onSubmit={(e) =>
          submit(e, async () => {
            const body: Record<string, string> = { fullName };
            if (emailChanged) Object.assign(body, { email, currentPassword: current });
            const saved = await api<User>("/api/v1/auth/me", { method: "PATCH", body });
            setUser(saved);
            setFullName(saved.fullName);
            setEmail(saved.email);
            setCurrent("");
          })
        }
      >
        <FormError message={error} />
        {done ? (
          <p role="status" className="text-sm text-success">
            Profile saved.
          </p>
        ) : null}
        <Field label="Name" error={errors.fullName}>
          <Input autoComplete="name" value={fullName} onChange={(e) => setFullName(e.target.value)} />
        </Field>
        <Field label="Email" error={errors.email}>
          <Input type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        {emailChanged ? (
          <Field label="Your password" error={errors.currentPassword} hint="Needed to change the email.">
            <Input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
          </Field>
        ) : null}
        <p className="text-sm text-muted-foreground">
          Role {user.role} · member since {formatTime(user.createdAt)}
        </p>
        <div>
          <Button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save profile"}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function Password() {
  const user = useUser();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const { busy, error, errors, done, submit } = useSubmit();
  return (
    <Card>
      <CardTitle>Change password</CardTitle>
      <form
        className="flex flex-col gap-3"
        noValidate
        aria-label="Change password"
        onSubmit={(e) =>
          submit(e, async () => {
            await api("/api/v1/auth/password", { method: "POST", body: { currentPassword: current, newPassword: next } });
            // The change revokes every refresh token, this session's too: sign in again with the new password.
            if (user) {
              await signIn("/api/v1/auth/login", { email: user.email, password: next });
            }
            setCurrent("");
            setNext("");
          })
        }
      >
        <FormError message={error} />
        {done ? (
          <p role="status" className="text-sm text-success">
            Password changed. Every other session has been signed out.
          </p>
        ) : null}
        <Field label="Current password" error={errors.currentPassword}>
          <Input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
        </Field>
        <Field label="New password" error={errors.newPassword} hint="8 to 128 characters.">
          <Input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
        </Field>
        <div>
          <Button type="submit" disabled={busy}>
            {busy ? "Changing…" : "Change password"}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function ApiKeys() {
  const keys = useApi<Page<APIKey>>("/api/v1/api-keys?limit=100");
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["workflows:read", "workflows:execute", "executions:read"]);
  const [expiresAt, setExpiresAt] = useState("");
  const [created, setCreated] = useState<CreatedAPIKey | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setError(null);
    setCreated(null);
    try {
      const body: Record<string, unknown> = { name, scopes };
      if (expiresAt) body.expiresAt = new Date(expiresAt + "T00:00:00").toISOString();
      const k = await api<CreatedAPIKey>("/api/v1/api-keys", { method: "POST", body });
      setCreated(k);
      setName("");
      keys.reload();
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      if (!Object.keys(fe).length) setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  const live = (keys.data?.items ?? []).filter((k) => !k.revokedAt);
  return (
    <Card>
      <CardTitle>API keys</CardTitle>
      <p className="mb-3 text-sm text-muted-foreground">
        For scripts and CI: send <code>Authorization: Bearer tc_…</code>. A key can do only what its scopes allow.
      </p>
      {created ? (
        <div role="status" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" data-testid="new-api-key">
          <p className="font-medium">Copy your new key now: it will not be shown again.</p>
          <div className="mt-2 flex flex-wrap items-center gap-2">
            <code className="min-w-0 flex-1 rounded bg-white px-2 py-1 text-xs break-all" data-testid="api-key-secret">
              {created.key}
            </code>
            <CopyButton text={created.key} label="Copy key" />
          </div>
          <Button variant="ghost" size="sm" className="mt-2" onClick={() => setCreated(null)}>
            I have stored it
          </Button>
        </div>
      ) : null}
      <form onSubmit={create} className="flex flex-col gap-3" noValidate aria-label="Create API key">
        <FormError message={error} />
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Key name" error={errors.name}>
            <Input value={name} onChange={(e) => setName(e.target.value)} placeholder="CI deploys" />
          </Field>
          <Field label="Expires on (optional)" error={errors.expiresAt}>
            <Input type="date" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />
          </Field>
        </div>
        <fieldset className="rounded-md border border-border p-3">
          <legend className="px-1 text-sm font-medium">Scopes</legend>
          <div className="grid grid-cols-1 gap-1 sm:grid-cols-2">
            {SCOPES.map((s) => (
              <label key={s} className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  checked={scopes.includes(s)}
                  onChange={(e) => setScopes((xs) => (e.target.checked ? [...xs, s] : xs.filter((x) => x !== s)))}
                />
                <code className="text-xs">{s}</code>
              </label>
            ))}
          </div>
          {errors.scopes || Object.entries(errors).find(([k]) => k.startsWith("scopes["))?.[1] ? (
            <p role="alert" className="mt-1 text-xs font-medium text-destructive">
              {errors.scopes ?? Object.entries(errors).find(([k]) => k.startsWith("scopes["))?.[1]}
            </p>
          ) : null}
        </fieldset>
        <div>
          <Button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create API key"}
          </Button>
        </div>
      </form>
      <h3 className="mt-5 mb-2 text-sm font-semibold">Your keys</h3>
      {keys.loading && !keys.data ? <Spinner label="Loading keys" /> : null}
      {keys.error ? <FormError message={keys.error} /> : null}
      {keys.data && live.length === 0 ? <EmptyState title="No API keys">Create one above to call the API from a script.</EmptyState> : null}
      <ul className="divide-y divide-border">
        {live.map((k) => (
          <li key={k.id} className="flex flex-wrap items-start justify-between gap-2 py-2 text-sm" data-testid="api-key-row">
            <div className="min-w-0">
              <p className="font-medium">{k.name}</p>
              <p className="font-mono text-xs text-muted-foreground">{k.prefix}…</p>
              <div className="mt-1 flex flex-wrap gap-1">
                {k.scopes.map((s) => (
                  <Badge key={s} className="border-slate-200 bg-slate-50">
                    {s}
                  </Badge>
                ))}
              </div>
              <p className="mt-1 text-xs text-muted-foreground">
                Last used {k.lastUsedAt ? formatTime(k.lastUsedAt) : "never"} · expires {k.expiresAt ? formatTime(k.expiresAt) : "never"}
              </p>
            </div>
            <ConfirmButton
              trigger="Revoke"
              title={`Revoke ${k.name}?`}
              description="Anything using this key stops working at once."
              confirm="Revoke key"
              onConfirm={async () => {
                await api(`/api/v1/api-keys/${k.id}`, { method: "DELETE" });
                keys.reload();
              }}
            />
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Secrets() {
  const secrets = useApi<Page<SecretMeta>>("/api/v1/secrets");
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Card>
      <CardTitle>Secrets</CardTitle>
      <p className="mb-3 text-sm text-muted-foreground">
        Agent configs use them as <code>{"{{secrets.NAME}}"}</code>. Values are write-only: nobody can read one back.
      </p>
      <form
        className="flex flex-col gap-3"
        noValidate
        aria-label="Save secret"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setErrors({});
          setError(null);
          setSaved(null);
          try {
            await api("/api/v1/secrets", { method: "POST", body: { name, value } });
            setSaved(`Saved ${name}.`);
            setName("");
            setValue("");
            secrets.reload();
          } catch (err) {
            const fe = fieldErrors(err);
            setErrors(fe);
            if (!Object.keys(fe).length) setError(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <FormError message={error} />
        {saved ? (
          <p role="status" className="text-sm text-success">
            {saved}
          </p>
        ) : null}
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Secret name" error={errors.name} hint="Letters, digits and _.">
            <Input value={name} onChange={(e) => setName(e.target.value)} placeholder="OPENAI_API_KEY" autoComplete="off" />
          </Field>
          <Field label="Secret value" error={errors.value}>
            <Input type="password" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
          </Field>
        </div>
        <div>
          <Button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save secret"}
          </Button>
        </div>
      </form>
      <h3 className="mt-5 mb-2 text-sm font-semibold">Your secrets</h3>
      {secrets.error ? <FormError message={secrets.error} /> : null}
      {secrets.data && secrets.data.items.length === 0 ? (
        <EmptyState title="No secrets">Save API tokens here instead of pasting them into agent configs.</EmptyState>
      ) : null}
      <ul className="divide-y divide-border">
        {secrets.data?.items.map((s) => (
          <li key={s.name} className="flex items-center justify-between gap-2 py-2 text-sm">
            <div>
              <p className="font-mono">{s.name}</p>
              <p className="text-xs text-muted-foreground">Updated {formatTime(s.updatedAt)}</p>
            </div>
            <ConfirmButton
              trigger="Delete"
              title={`Delete ${s.name}?`}
              description="Agents that reference it will fail until you save it again."
              confirm="Delete secret"
              onConfirm={async () => {
                await api(`/api/v1/secrets/${encodeURIComponent(s.name)}`, { method: "DELETE" });
                secrets.reload();
              }}
            />
          </li>
        ))}
      </ul>
    </Card>
  );
}
