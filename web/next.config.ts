import type { NextConfig } from "next";

// A static export: plain files that `turbocat dev` embeds and serves at /, and
// that the CDK app can host on S3 + CloudFront in front of the same API.
const config: NextConfig = {
  output: "export",
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  // `npm run check` (eslint, tsc) runs them once, before the build: `make web`.
  eslint: { ignoreDuringBuilds: true },
  typescript: { ignoreBuildErrors: true },
  // Local development (`npm run dev`) talks to `turbocat dev` on :3001.
  ...(process.env.NODE_ENV === "development"
    ? {
        async rewrites() {
          const target = process.env.TURBOCAT_API || "http://127.0.0.1:3001";
          return [
            { source: "/api/:path*", destination: `${target}/api/:path*` },
            { source: "/health", destination: `${target}/health` },
          ];
        },
      }
    : {}),
};

export default config;
