import { test, expect } from "@playwright/test";
import { spawn, ChildProcess } from "node:child_process";

// Its own real host with no model loaded: the chat still answers, with the measured diagnosis.
const PORT = Number(process.env.E2E_NO_MODEL_PORT ?? 3213);
const BASE = `http://127.0.0.1:${PORT}`;

let host: ChildProcess;

test.beforeAll(async () => {
  host = spawn("../target/release/mac-status", ["--addr", `127.0.0.1:${PORT}`, "--site-root", "../target/site", "--no-model", "--no-history"], {
    stdio: "ignore",
  });
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${BASE}/healthz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the --no-model host did not start");
});

test.afterAll(async () => {
  host.kill("SIGTERM");
  await new Promise((r) => host.once("exit", r));
});

test("without a model the chat answers with the measured diagnosis", async ({ page }) => {
  await page.goto(BASE);
  await expect(page.locator("#conn")).toHaveClass(/live/);
  // A note, not a lock: the question can still be asked.
  const note = page.locator("#chat-unavailable");
  await expect(note).toBeVisible();
  await expect(note).toHaveAttribute("data-code", "model_disabled");
  await expect(note).toContainText("measured diagnosis only");
  await page.locator("#question").fill("Why is my Mac slow?");
  await expect(page.locator("#ask")).toBeEnabled();
  await page.locator("#ask").click();
  await expect(page.locator("#answer")).toHaveAttribute("data-done", "true", { timeout: 15_000 });
  expect(await page.locator("#diagnosis li.finding").count()).toBeGreaterThan(0);
  await expect(page.locator("#model-note")).toBeVisible();
  await expect(page.locator("#model-note")).toHaveAttribute("data-code", "model_disabled");
  await expect(page.locator("#answer")).toBeHidden();
  await expect(page.locator("#answer-label")).toHaveCount(0);
  await expect(page.locator("#timings")).toContainText("Measured diagnosis");
});
