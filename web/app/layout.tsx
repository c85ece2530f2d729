import type { Metadata, Viewport } from "next";
import "./globals.css";
import { Suspense } from "react";
import { Shell } from "@/components/shell";
import { Spinner } from "@/components/ui/card";

export const metadata: Metadata = {
  title: "Turbocat",
  description: "Run AI-agent workflows on AWS serverless, or on this machine.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="antialiased">
        <Shell>
          {/* Pages read their query (ids) on the client: static export has none at build time. */}
          <Suspense fallback={<Spinner />}>{children}</Suspense>
        </Shell>
      </body>
    </html>
  );
}
