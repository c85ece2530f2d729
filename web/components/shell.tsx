"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { hasSession, loadMe, logout } from "@/lib/api";
import { useUser } from "@/lib/session";
import { cn } from "@/lib/utils";
import { Button } from "./ui/button";
import { Spinner } from "./ui/card";

const nav = [
  { href: "/", label: "Dashboard" },
  { href: "/agents", label: "Agents" },
  { href: "/workflows", label: "Workflows" },
  { href: "/templates", label: "Templates" },
  { href: "/executions", label: "Executions" },
  { href: "/deployments", label: "Deployments" },
  { href: "/webhooks", label: "Webhooks" },
  { href: "/audit", label: "Audit log" },
  { href: "/settings", label: "Settings" },
];

const publicPaths = ["/login", "/register"];

function isActive(pathname: string, href: string) {
  if (href === "/") return pathname === "/";
  return pathname === href || pathname.startsWith(href + "/");
}

/** Shell is the signed-in frame: navigation, the session guard and log out. */
export function Shell({ children }: { children: React.ReactNode }) {
  const pathname = usePathname() || "/";
  const router = useRouter();
  const user = useUser();
  const [menuOpen, setMenuOpen] = useState(false);
  const [checking, setChecking] = useState(true);
  const isPublic = publicPaths.includes(pathname.replace(/\/$/, ""));

  useEffect(() => {
    if (isPublic) {
      setChecking(false);
      return;
    }
    if (!hasSession()) {
      const next = window.location.pathname + window.location.search;
      router.replace(`/login?next=${encodeURIComponent(next)}`);
      return;
    }
    if (user) {
      setChecking(false);
      return;
    }
    loadMe()
      .then(() => setChecking(false))
      .catch(() => {
        router.replace("/login");
      });
  }, [isPublic, user, router]);

  useEffect(() => setMenuOpen(false), [pathname]);

  if (isPublic) {
    return <main className="flex min-h-screen items-center justify-center bg-muted p-4">{children}</main>;
  }
  if (checking || !user) {
    return (
      <main className="flex min-h-screen items-center justify-center">
        <Spinner label="Signing you in" />
      </main>
    );
  }

  return (
    <div className="min-h-screen md:flex">
      <header className="flex items-center justify-between border-b border-border bg-slate-900 px-4 py-3 text-white md:hidden">
        <Link href="/" className="font-semibold">
          Turbocat
        </Link>
        <Button
          variant="ghost"
          size="sm"
          className="text-white hover:bg-slate-700"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </Button>
      </header>
      <aside
        id="main-nav"
        className={cn(
          "bg-slate-900 text-slate-100 md:block md:w-56 md:shrink-0",
          menuOpen ? "block" : "hidden",
        )}
      >
        <div className="md:sticky md:top-0">
          <div className="hidden px-5 py-5 text-lg font-semibold md:block">Turbocat</div>
          <nav aria-label="Main">
            <ul className="flex flex-col gap-0.5 px-2 pb-2">
              {nav.map((item) => (
                <li key={item.href}>
                  <Link
                    href={item.href}
                    aria-current={isActive(pathname, item.href) ? "page" : undefined}
                    className={cn(
                      "block rounded-md px-3 py-2 text-sm hover:bg-slate-700",
                      isActive(pathname, item.href) && "bg-slate-700 font-medium text-white",
                    )}
                  >
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div className="border-t border-slate-700 px-4 py-3 text-sm">
            <p className="truncate text-slate-300" title={user.email}>
              {user.fullName || user.email}
            </p>
            <Button
              variant="ghost"
              size="sm"
              className="mt-2 px-0 text-slate-100 hover:bg-transparent hover:underline"
              onClick={async () => {
                try {
                  await logout();
                } finally {
                  router.replace("/login");
                }
              }}
            >
              Log out
            </Button>
          </div>
        </div>
      </aside>
      <main className="min-w-0 flex-1 p-4 md:p-8">{children}</main>
    </div>
  );
}
