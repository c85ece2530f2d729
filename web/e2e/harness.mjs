// Test harness of the console's end-to-end tests: a fresh database, `turbocat
// dev` built from this checkout with the console embedded, Debian's chromium
// driven by playwright-core, screenshots and axe-core checks.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

export const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const repoDir = path.resolve(webDir, "..");
export const artifactsDir = path.join(webDir, "e2e", "artifacts");
const outDir = path.join(webDir, "out");
const pgURL = process.env.TURBOCAT_E2E_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/** freePort asks the kernel for an unused TCP port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function psql(dbURL, sql) {
  execFileSync("psql", [dbURL, "-v", "ON_ERROR_STOP=1", "-qc", sql], { stdio: ["ignore", "ignore", "inherit"] });
}

async function waitFor(url, ms, proc) {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`turbocat exited with ${proc.exitCode} before it was ready`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${ms} ms: ${last}`);
}

/** consoleProxy starts web/e2e/consoleproxy: web.Handler() at /, the API proxied to apiBase. */
async function consoleProxy(bin, apiBase) {
  const proc = spawn(bin, ["-listen", "127.0.0.1:0", "-api", apiBase], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    proc.once("exit", (code) => reject(new Error(`consoleproxy exited with ${code}`)));
  });
  return { url, proc };
}

/**
 * startStack creates a database, builds and starts turbocat dev; stop() undoes it all.
 * env adds environment variables of turbocat dev (e.g. TURBOCAT_HTTP_ALLOW_CIDRS
 * for a test whose agents call a fake server on loopback).
 */
export async function startStack({ env = {} } = {}) {
  if (!existsSync(path.join(outDir, "index.html"))) {
    throw new Error("web/out is not built: run `make web` (npm ci && npm run build in web/) first");
  }
  mkdirSync(artifactsDir, { recursive: true });
  const tmp = await mkdtemp(path.join(os.tmpdir(), "turbocat-e2e-"));
  // TURBOCAT_E2E_BIN: a turbocat binary already built (with the console embedded).
  const bin = process.env.TURBOCAT_E2E_BIN || path.join(tmp, "turbocat");
  const proxyBin = path.join(tmp, "consoleproxy");
  if (!process.env.TURBOCAT_E2E_BIN) {
    execFileSync("go", ["build", "-o", bin, "./cmd/turbocat"], { cwd: repoDir, stdio: "inherit" });
  }

  const db = `turbocat_e2e_${process.pid}_${randomBytes(3).toString("hex")}`;
  psql(pgURL, `CREATE DATABASE ${db}`);
  const dbURL = new URL(pgURL);
  dbURL.pathname = `/${db}`;

  // TURBOCAT_E2E_PORT / TURBOCAT_E2E_SFN_PORT pin the ports (a shared
  // machine hands each engineer a range); otherwise the kernel picks.
  const port = Number(process.env.TURBOCAT_E2E_PORT) || (await freePort());
  const sfnPort = Number(process.env.TURBOCAT_E2E_SFN_PORT) || (await freePort());
  const logFile = path.join(artifactsDir, "turbocat.log");
  const log = [];
  const proc = spawn(bin, ["dev"], {
    cwd: tmp,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: dbURL.toString(),
      TURBOCAT_SFN_ADDR: `127.0.0.1:${sfnPort}`,
      TURBOCAT_JWT_SECRET: randomBytes(48).toString("base64"),
      TURBOCAT_SECRETS_KEY: randomBytes(32).toString("base64"),
      TURBOCAT_ACCESS_TOKEN_TTL: process.env.TURBOCAT_E2E_ACCESS_TTL || "15m",
      TURBOCAT_AUTH_RATE_LIMIT: "600",
      TURBOCAT_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout.on("data", (d) => log.push(d));
  proc.stderr.on("data", (d) => log.push(d));

  let proxy = null;
  const stop = async () => {
    if (proxy && proxy.proc.exitCode === null) {
      proxy.proc.kill("SIGTERM");
      await new Promise((r) => proxy.proc.once("exit", r));
    }
    if (proc.exitCode === null) {
      proc.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          proc.kill("SIGKILL");
          r();
        }, 10_000);
        proc.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
    writeFileSync(logFile, Buffer.concat(log));
    try {
      psql(pgURL, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    } catch (e) {
      console.error(`e2e: could not drop ${db}: ${e.message}`);
    }
    rmSync(tmp, { recursive: true, force: true });
  };

  try {
    const apiBase = `http://127.0.0.1:${port}`;
    await waitFor(`${apiBase}/ready`, 60_000, proc);
    const root = await fetch(`${apiBase}/`).then((r) => r.text()).catch(() => "");
    let baseURL = apiBase;
    let embedded = true;
    if (!root.includes("/_next/static/")) {
      // This checkout's `turbocat dev` does not mount web.Handler() yet.
      embedded = false;
      execFileSync("go", ["build", "-o", proxyBin, "./web/e2e/consoleproxy"], { cwd: repoDir, stdio: "inherit" });
      proxy = await consoleProxy(proxyBin, apiBase);
      baseURL = proxy.url;
    }
    return { baseURL, embedded, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** launchBrowser starts Debian's chromium with a fresh profile. */
export async function launchBrowser() {
  const executablePath = execFileSync("bash", [path.join(webDir, "e2e", "ensure-chromium.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
  })
    .toString()
    .trim()
    .split("\n")
    .pop();
  const profile = await mkdtemp(path.join(os.tmpdir(), "turbocat-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(path.join(webDir, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** shot saves a full-page screenshot under artifacts/ and returns its path. */
/**
 * openPage opens a page of browser's context that waits up to 20 s and
 * collects into pageErrors uncaught errors and console errors (React
 * warnings); failed requests are expected (tests provoke 400s and a 401).
 */
export async function openPage(browser, pageErrors) {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
  return page;
}

export async function shot(page, name) {
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** axe runs axe-core in the page and returns its serious and critical violations. */
export async function axe(page, name) {
  const hasAxe = await page.evaluate(() => typeof window.axe !== "undefined");
  if (!hasAxe) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  });
  writeFileSync(path.join(artifactsDir, `axe-${name}.json`), JSON.stringify(result, null, 2));
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** checkPage saves a screenshot of page and keeps its axe violations under name. */
export async function checkPage(page, name, violations) {
  await shot(page, name);
  const v = await axe(page, name);
  if (v.length) violations[name] = v;
}

/** callAPI calls the API with a bearer token (when set), asserts success and returns data. */
export async function callAPI(baseURL, token, method, route, body) {
  const res = await fetch(baseURL + route, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!json.success) throw new Error(`${method} ${route}: ${JSON.stringify(json.error)}`);
  return json.data;
}

/** registerInUI creates an account through the register page and returns an API access token for it. */
export async function registerInUI(page, baseURL, name, email, password) {
  await page.goto(baseURL + "/register");
  await page.getByRole("heading", { level: 1, name: "Create your account" }).waitFor();
  await page.getByLabel("Full name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
  return (await callAPI(baseURL, null, "POST", "/api/v1/auth/login", { email, password })).accessToken;
}
