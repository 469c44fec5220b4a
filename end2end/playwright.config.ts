import { readFileSync } from "node:fs";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";

// The release binary that `cargo leptos build --release` left in target/release: it carries
// the whole site, so it runs alone, and these tests never build anything themselves. With
// BASE_URL set, they run against a server already running there instead.
// The browser is the system Chromium: Playwright's own browser downloads are not used.
const root = path.resolve(__dirname, "..");
// The binary is named after the package in Cargo.toml.
const manifest = readFileSync(path.join(root, "Cargo.toml"), "utf8");
const binary = /\[package\]\s*name = "([^"]+)"/.exec(manifest)?.[1];
if (!binary) throw new Error("no [package] name in Cargo.toml");
// One instance: it listens on 127.0.0.1:3000, its public URL is http://localhost:3000 (a name,
// so WebAuthn takes it as the relying party and the passkey tests run here too), and a request
// for 127.0.0.1:3000 is sent there first, as in `make dev`.
const server = {
  command: path.join(root, "target", "release", binary),
  cwd: root,
  // The health check answers on any host.
  url: "http://127.0.0.1:3000/healthz",
  // Never a server left running on the port (a `cargo leptos watch` mails to the log, not
  // to the outbox these tests read): Playwright stops with "port already used" instead.
  reuseExistingServer: false,
  timeout: 60_000,
  stdout: "pipe" as const,
  env: {
    LEPTOS_SITE_ADDR: "127.0.0.1:3000",
    MAGIC_LINK_AUTH_PUBLIC_URL: "http://localhost:3000",
    DATABASE_URL: "sqlite://target/e2e.db?mode=rwc",
    MAGIC_LINK_MAIL_PROVIDER: "file",
    MAGIC_LINK_MAIL_OUTBOX: "target/e2e-outbox",
    MAGIC_LINK_AUTH_TRUSTED_PROXIES: "127.0.0.1,::1",
  },
};

export default defineConfig({
  testDir: "./tests",
  globalSetup: "./global-setup.ts",
  webServer: process.env.BASE_URL ? undefined : [server],
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: process.env.CI ? 2 : undefined,
  reporter: [["list"]],
  use: {
    baseURL: process.env.BASE_URL ?? "http://localhost:3000",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 800 } } },
    { name: "phone", use: { ...devices["Pixel 7"], viewport: { width: 390, height: 844 } } },
  ],
});
