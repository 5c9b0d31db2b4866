import { test, expect } from "@playwright/test";
import { ChildProcess } from "node:child_process";
import { startHost, stopHost, waitUp } from "./host";

// Its own real host with no model loaded: the chat still answers, with the measured diagnosis.
const PORT = Number(process.env.E2E_NO_MODEL_PORT ?? 3213);
const BASE = `http://127.0.0.1:${PORT}`;

let host: ChildProcess;

test.beforeAll(async () => {
  host = startHost(PORT, ["--no-model", "--no-history"]);
  await waitUp(PORT, true);
});

test.afterAll(async () => {
  await stopHost(host, PORT);
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
