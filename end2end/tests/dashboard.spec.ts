import { test, expect, Page } from "@playwright/test";

async function waitHydratedAndLive(page: Page) {
  await page.goto("/");
  // The stream connected: the status pill says so (only the WASM app can set it).
  await expect(page.locator("#conn")).toHaveClass(/live/);
}

test("the dashboard loads with real numbers and they change live", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await waitHydratedAndLive(page);
  await expect(page).toHaveTitle("Mac Status");
  const cpu = page.locator("#cpu-total");
  await expect(cpu).toHaveText(/^\d+\.\d%$/);
  const cores = await page.locator("#cpu-cores li").count();
  expect(cores).toBeGreaterThan(0);

  // Each second brings a new sample; the process table and the chart follow.
  const seen = new Set<string>();
  const readAll = async () =>
    [await cpu.textContent(), await page.locator("#memory-used").textContent(), await page.locator("#net-rates").textContent()].join("|");
  seen.add(await readAll());
  await expect.poll(async () => { seen.add(await readAll()); return seen.size; }, { timeout: 10_000 }).toBeGreaterThan(1);
  expect(await page.locator("#process-table tbody tr").count()).toBeGreaterThan(0);
  expect(errors, errors.join("\n")).toEqual([]);
});

test("charts draw from history and grow with the stream", async ({ page }) => {
  await waitHydratedAndLive(page);
  const path = page.locator("#chart-cpu path.s1");
  await expect(path).toHaveAttribute("d", /^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+$/);
  const count = async () => ((await path.getAttribute("d")) ?? "").split(" L").length;
  const before = await count();
  await expect.poll(count, { timeout: 10_000 }).toBeGreaterThan(before);
  await expect(page.locator("#chart-memory path.s1")).toHaveAttribute("d", /L/);
  await expect(page.locator("#chart-network path.s1")).toHaveAttribute("d", /L/);
});

test("the language toggle switches to Japanese and back, and is remembered", async ({ page }) => {
  await waitHydratedAndLive(page);
  await expect(page.locator("#memory-title")).toContainText("Memory");
  await page.locator("#lang-toggle").click();
  await expect(page.locator("#memory-title")).toContainText("メモリ");
  await expect(page.locator("html")).toHaveAttribute("lang", "ja");
  await expect(page.locator("#lang-toggle")).toHaveText("English");
  await page.reload();
  await expect(page.locator("#conn")).toHaveClass(/live/);
  await expect(page.locator("#memory-title")).toContainText("メモリ");
  await page.locator("#lang-toggle").click();
  await expect(page.locator("#memory-title")).toContainText("Memory");
});

test("the process table sorts by the clicked column", async ({ page }) => {
  await waitHydratedAndLive(page);
  const rows = page.locator("#process-table tbody tr");
  await expect(rows.first()).toBeVisible();
  await page.locator('button[data-sort="name"]').click();
  await expect(page.locator('th:has(button[data-sort="name"])')).toHaveAttribute("aria-sort", "ascending");
  const names = (await page.locator("#process-table tbody td.name").allTextContents()).map((n) => n.toLowerCase());
  expect(names).toEqual([...names].sort());
});

test("missing sensors say 'not available', never zero", async ({ page, request }) => {
  const status = await (await request.get("/api/v1/status")).json();
  await waitHydratedAndLive(page);
  if (status.battery === null) {
    await expect(page.locator("#battery-na")).toHaveText("Not available");
  } else {
    await expect(page.locator("#card-sensors")).toContainText("%");
  }
  if (status.temperatures === null) {
    await expect(page.locator("#temps-na")).toHaveText("Not available");
  }
});

test("status levels are shown as text, not colour alone", async ({ page }) => {
  await waitHydratedAndLive(page);
  const badge = page.locator("#card-cpu .badge");
  await expect(badge).toHaveText(/^(Normal|Careful|Warning|Critical)$/);
  await expect(badge).toHaveAttribute("data-level", /^(normal|careful|warning|critical)$/);
});

test("screenshots at MacBook and iPhone widths", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await waitHydratedAndLive(page);
  await page.waitForTimeout(2500); // a few points on the charts
  await page.screenshot({ path: "screenshots/dashboard-macbook.png", fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  // Nothing overflows sideways at phone width.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(1);
  await page.screenshot({ path: "screenshots/dashboard-iphone.png", fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: "screenshots/dashboard-iphone-dark.png" });
});
