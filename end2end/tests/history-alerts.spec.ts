import { test, expect, Page, BrowserContext } from "@playwright/test";
import { ChildProcess } from "node:child_process";
import { startHost as spawnHost, stopHost, waitUp as waitPort } from "./host";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// Each test runs its own host with a real history database (in a temporary folder) whose
// "minute" is 2 s, so minute rows exist seconds after the start, and a config file.
const PORT = Number(process.env.E2E_HISTORY_PORT ?? 3216);
const BASE = `http://127.0.0.1:${PORT}`;

function startHost(config: string): { host: ChildProcess; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mac-status-history-"));
  const file = path.join(dir, "config.toml");
  fs.writeFileSync(file, config);
  const args = ["--no-model", "--history-db", path.join(dir, "history.db"), "--history-minute-ms", "2000", "--config", file];
  return { host: spawnHost(PORT, args), dir };
}

const waitUp = (up: boolean) => waitPort(PORT, up);

async function stop({ host, dir }: { host: ChildProcess; dir: string }) {
  await stopHost(host, PORT, "SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
}

async function live(page: Page) {
  await expect(page.locator("#conn")).toHaveClass(/live/);
}

/** The x coordinates of a path's points. */
function xs(d: string | null): number[] {
  return [...(d ?? "").matchAll(/[ML](-?[\d.]+),/g)].map((m) => Number(m[1]));
}

test.describe.configure({ mode: "serial" });

test("range buttons redraw a chart from the history database, with a band, a read-out, and offline", async ({ browser }) => {
  const run = startHost("");
  const context: BrowserContext = await browser.newContext();
  const page = await context.newPage();
  try {
    await waitUp(true);
    // A few 2-second "minutes" written, each of two samples or more.
    await new Promise((r) => setTimeout(r, 7_000));
    await page.goto(BASE);
    await live(page);
    const chart = page.locator("#chart-cpu");
    const line = chart.locator("path.s1");
    await expect(chart).toHaveAttribute("data-range", "10m");
    // The live range spans its own points, left edge to right edge.
    await expect.poll(async () => xs(await line.getAttribute("d")).length).toBeGreaterThan(2);
    expect(xs(await line.getAttribute("d"))[0]).toBe(0);

    await chart.locator('button[data-range="24h"]').click();
    await expect(chart).toHaveAttribute("data-range", "24h");
    await expect(chart.locator('button[data-range="24h"]')).toHaveAttribute("aria-pressed", "true");
    await expect(chart.locator('button[data-range="10m"]')).toHaveAttribute("aria-pressed", "false");
    // Seconds of rows in a 24-hour window: every point sits at the right edge.
    await expect.poll(async () => xs(await line.getAttribute("d")).length).toBeGreaterThan(1);
    const day = xs(await line.getAttribute("d"));
    expect(Math.min(...day)).toBeGreaterThan(299);
    // Aggregated rows have a lowest and a highest value: the band is drawn. (Network: the
    // page's own traffic over loopback is left out, so use CPU and memory.)
    await expect(chart.locator("path.b1")).toHaveAttribute("d", /Z$/);
    // The other charts keep their own range.
    await expect(page.locator("#chart-memory")).toHaveAttribute("data-range", "10m");

    // Hover reads out a point with its time (HH:MM at 24 h) and its spread.
    const box = (await chart.locator("svg").boundingBox())!;
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
    await expect(chart.locator(".chart-readout")).toHaveText(/^\d\d:\d\d · \d+\.\d%/);
    await expect(chart.locator("line.cursor")).toHaveCount(1);
    await page.mouse.move(0, 0);
    await expect(chart.locator("line.cursor")).toHaveCount(0);
    // Not hovering: the window's ends, with their dates (a day's ends share the time of day).
    await expect(chart.locator(".chart-readout")).toHaveText(/^\d+\/\d+ \d\d:\d\d – \d+\/\d+ \d\d:\d\d$/);

    // The answer the chart drew is the host's (a row may have been written since).
    const api = await (await fetch(`${BASE}/api/v1/history?range=24h&points=240`)).json();
    expect(api.resolution).toBe("minute");
    expect(api.points.length - day.length).toBeGreaterThanOrEqual(0);
    expect(api.points.length - day.length).toBeLessThanOrEqual(1);

    // Back to 10 minutes: the live line again.
    await chart.locator('button[data-range="10m"]').click();
    await expect.poll(async () => xs(await line.getAttribute("d"))[0]).toBe(0);
    await chart.locator('button[data-range="24h"]').click();
    await expect(chart.locator("path.b1")).toHaveAttribute("d", /Z$/);
    await chart.scrollIntoViewIfNeeded();
    await page.screenshot({ path: "screenshots/chart-24h.png" });

    // Offline, the installed app opens with the range it last showed and its last copy.
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.reload();
    await live(page);
    await expect(chart).toHaveAttribute("data-range", "24h");
    await context.setOffline(true);
    await page.reload();
    await expect(chart).toHaveAttribute("data-range", "24h");
    await expect(chart.locator(".chart-note")).toContainText("saved copy", { timeout: 20_000 });
    expect(xs(await line.getAttribute("d")).length).toBeGreaterThan(1);
  } finally {
    await context.close();
    await stop(run);
  }
});

test("an alert raised by the host is listed live and shown as a notification after the user's click", async ({ browser }) => {
  // Test-only thresholds: any memory use is critical; it must hold 12 s (time to open the
  // page and click before it is raised).
  const run = startHost("[alerts]\nhold_s = 12\nmemory = [0.001, 0.002, 0.003]\n");
  const context = await browser.newContext();
  await context.grantPermissions(["notifications"], { origin: BASE });
  // Records what the page asks of the Notifications API (both ways of showing one).
  await context.addInitScript(() => {
    const w = window as any;
    w.__asked = 0;
    w.__notes = [];
    const Real = w.Notification;
    class Recorded extends Real {
      constructor(title: string, opts?: NotificationOptions) {
        super(title, opts);
        w.__notes.push({ title, body: opts?.body, tag: opts?.tag });
      }
      static get permission() {
        return Real.permission;
      }
      static requestPermission(...a: any[]) {
        w.__asked += 1;
        return Real.requestPermission(...a);
      }
    }
    w.Notification = Recorded;
    const show = ServiceWorkerRegistration.prototype.showNotification;
    ServiceWorkerRegistration.prototype.showNotification = function (title: string, opts?: NotificationOptions) {
      w.__notes.push({ title, body: opts?.body, tag: opts?.tag });
      return show.call(this, title, opts);
    };
  });
  const page = await context.newPage();
  try {
    await waitUp(true);
    await page.goto(BASE);
    await live(page);
    const card = page.locator("#card-alerts");
    await expect(card.locator("#alerts-empty")).toBeVisible();
    // Never asked on load.
    expect(await page.evaluate(() => (window as any).__asked)).toBe(0);

    const toggle = page.locator("#notify-toggle");
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-pressed", "true");
    expect(await page.evaluate(() => (window as any).__asked)).toBe(1);

    // The level holds: the host raises the alert, the stream brings it, the list shows it.
    const item = card.locator('li.alert[data-resource="memory"]');
    await expect(item).toHaveAttribute("data-open", "true", { timeout: 25_000 });
    await expect(item).toHaveClass(/level-critical/);
    await expect(item.locator(".alert-when")).toHaveText(/^\d\d:\d\d:\d\d – ongoing$/);
    await expect
      .poll(() => page.evaluate(() => (window as any).__notes as { body: string }[]))
      .toContainEqual(expect.objectContaining({ body: expect.stringMatching(/^Memory at \d+ % \(Critical\)$/) }));

    // The host lists the same alert.
    const list = await (await fetch(`${BASE}/api/v1/alerts`)).json();
    expect(list.alerts.some((a: any) => a.resource === "memory" && a.level === "critical")).toBe(true);

    // A reload lists it at once (server-rendered) and asks nothing.
    await page.reload();
    await expect(item).toHaveAttribute("data-open", "true");
    await expect(toggle).toHaveAttribute("aria-pressed", "true");
    expect(await page.evaluate(() => (window as any).__asked)).toBe(0);
    await page.locator("#lang-toggle").click();
    await expect(item.locator(".alert-when")).toHaveText(/継続中$/);
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: "screenshots/alerts-ja.png" });
  } finally {
    await context.close();
    await stop(run);
  }
});
