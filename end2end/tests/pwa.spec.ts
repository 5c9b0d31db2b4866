import { test, expect, Page } from "@playwright/test";
import { ChildProcess } from "node:child_process";
import { startHost as spawnHost, stopHost, waitUp as waitPort } from "./host";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// This spec runs its own host (dashboard only, no model) so it can stop and restart it.
const PORT = Number(process.env.E2E_PWA_PORT ?? 3212);
const BASE = `http://127.0.0.1:${PORT}`;

// The site inside the binary, as an installed host serves it (content-hashed names).
const startHost = () => spawnHost(PORT, ["--no-model", "--no-history"]);
const waitUp = (up: boolean) => waitPort(PORT, up);
const stop = (host: ChildProcess) => stopHost(host, PORT);

async function live(page: Page) {
  await expect(page.locator("#conn")).toHaveClass(/live/);
}

test.describe.configure({ mode: "serial" });

test("manifest is valid and its icons are real", async ({ request }) => {
  const host = startHost();
  try {
    await waitUp(true);
    const res = await request.get(`${BASE}/manifest.webmanifest`);
    expect(res.ok()).toBeTruthy();
    const m = await res.json();
    expect(m.name).toBe("Mac Status");
    expect(m.short_name).toBeTruthy();
    expect(m.display).toBe("standalone");
    expect(m.start_url).toMatch(/^\//);
    expect(m.lang).toBe("en");
    expect(m.shortcuts.map((s: { name: string }) => s.name)).toEqual(["Status", "Ask about this Mac"]);
    const purposes = m.icons.map((i: { purpose: string; sizes: string }) => `${i.sizes}:${i.purpose}`);
    expect(purposes).toEqual(expect.arrayContaining(["192x192:any", "512x512:any", "512x512:maskable"]));
    for (const icon of m.icons) {
      const png = await request.get(`${BASE}${icon.src}`);
      expect(png.headers()["content-type"]).toBe("image/png");
      const body = await png.body();
      const [w, h] = [body.readUInt32BE(16), body.readUInt32BE(20)];
      expect(`${w}x${h}`).toBe(icon.sizes);
    }
    const apple = await request.get(`${BASE}/icons/apple-touch-icon.png`);
    expect(apple.ok()).toBeTruthy();
  } finally {
    await stop(host);
  }
});

test("offline: the last metrics come back with a banner, and the app goes live again by itself", async ({ page }) => {
  let host = startHost();
  try {
    await waitUp(true);
    await page.goto(BASE);
    await live(page);
    // Installable: the service worker is active and controls the page.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect
      .poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.state))
      .toBe("activated");
    await page.reload();
    await live(page);
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    await page.screenshot({ path: "screenshots/pwa-online.png" });
    // Let a few snapshots be stored.
    await expect
      .poll(() => page.evaluate(() => JSON.parse(localStorage.getItem("mac-status.last") ?? '{"history":[]}').history.length), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(3);
    const lastCpu = await page.locator("#cpu-total").textContent();
    const storedAt = await page.evaluate(() => JSON.parse(localStorage.getItem("mac-status.last")!).snapshot.taken_at_ms);

    await stop(host);
    await expect(page.locator("#offline-banner")).toBeVisible({ timeout: 10_000 });

    // A reload with the host down still opens the app, with the stored numbers and charts.
    await page.reload();
    await expect(page.locator("#offline-banner")).toBeVisible({ timeout: 15_000 });
    await expect(page.locator("#offline-banner")).toContainText(/Offline — last updated at \d\d:\d\d:\d\d/);
    await expect(page.locator("#cpu-total")).toHaveText(/^\d+\.\d%$/);
    const shownAt = await page.evaluate(() => JSON.parse(localStorage.getItem("mac-status.last")!).snapshot.taken_at_ms);
    expect(shownAt).toBeGreaterThanOrEqual(storedAt);
    await expect(page.locator("#chart-cpu path.s1")).toHaveAttribute("d", /L/);
    await expect(page.locator("#chat-offline")).toBeVisible();
    expect(lastCpu).toMatch(/%$/);
    await page.screenshot({ path: "screenshots/pwa-offline.png", fullPage: true });

    // The host comes back: the page reconnects on its own, no reload.
    host = startHost();
    await waitUp(true);
    await live(page);
    await expect(page.locator("#offline-banner")).toHaveCount(0);
  } finally {
    await stop(host).catch(() => {});
  }
});

test("a browser context that is offline still opens the dashboard", async ({ browser }) => {
  const host = startHost();
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await waitUp(true);
    await page.goto(BASE);
    await live(page);
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.reload();
    await live(page);
    await context.setOffline(true);
    await page.reload();
    await expect(page.locator("#cpu-total")).toHaveText(/^\d+\.\d%$/);
    await expect(page.locator("#offline-banner")).toBeVisible({ timeout: 15_000 });
  } finally {
    await context.close();
    await stop(host);
  }
});

test("a rebuild under a running host gives a new worker, and the updated page hydrates", async ({ page }) => {
  // A site of its own, so the "rebuild" (new CSS, as `cargo leptos build` rewrites pkg/) harms no other test.
  const site = fs.mkdtempSync(path.join(os.tmpdir(), "mac-status-site-"));
  fs.cpSync("../target/site", site, { recursive: true });
  const host = spawnHost(PORT, ["--site-root", site, "--no-model", "--no-history"]);
  try {
    await waitUp(true);
    await page.goto(BASE);
    await live(page);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await live(page);
    const before = await (await fetch(`${BASE}/sw.js`)).text();

    // The rebuild: the CSS changes (its precompressed twins are rewritten by a real build; here
    // they go, so the host serves the new file).
    const css = path.join(site, "pkg/mac-status.css");
    const { atime, mtime } = fs.statSync(css);
    fs.appendFileSync(css, "\n#conn { outline: 3px solid rgb(1, 2, 3); }\n");
    // A rebuild within the same second as the page's fetch: its Last-Modified does not change,
    // so only a worker that bypasses the HTTP cache gets the new file.
    fs.utimesSync(css, atime, mtime);
    for (const twin of [".br", ".gz"]) fs.rmSync(css + twin, { force: true });

    const after = await (await fetch(`${BASE}/sw.js`)).text();
    const version = (js: string) => /const VERSION = "([0-9a-f]+)";/.exec(js)?.[1];
    expect(version(before)).toBeTruthy();
    expect(version(after)).toBeTruthy();
    expect(version(after)).not.toBe(version(before));

    // The open page learns of it, the user accepts, and the new build hydrates.
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    await expect(page.locator("#update-banner")).toBeVisible({ timeout: 15_000 });
    await Promise.all([page.waitForEvent("load"), page.locator("#update-banner button").click()]);
    await live(page);
    await expect(page.locator("#conn")).toHaveCSS("outline-color", "rgb(1, 2, 3)");
  } finally {
    await stop(host);
    fs.rmSync(site, { recursive: true, force: true });
  }
});
