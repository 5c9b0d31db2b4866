import { test, expect, Page } from "@playwright/test";
import { ChildProcess } from "node:child_process";
import { MODEL, startHost as spawnHost, stopHost, waitUp as waitPort } from "./host";

// Each test runs its own host (so it can starve, stop or kill it) on its own port.
const PORT = Number(process.env.E2E_FAILURES_PORT ?? 3214);
const BASE = `http://127.0.0.1:${PORT}`;

function startHost(model: string | null): ChildProcess {
  return spawnHost(PORT, ["--no-history", ...(model ? ["--model", model] : ["--no-model"])]);
}

const waitUp = (up: boolean) => waitPort(PORT, up);
// SIGKILL: these tests end hosts mid-answer; no clean shutdown to wait for.
const stop = (host: ChildProcess) => stopHost(host, PORT, "SIGKILL");

async function open(page: Page) {
  await page.goto(BASE);
  await expect(page.locator("#conn")).toHaveClass(/live/);
}

async function ask(page: Page, question: string) {
  await page.fill("#question", question);
  await page.click("#ask");
}

test.describe.configure({ mode: "serial" });

test("a refused question shows the host's reason and code, not a blank answer", async ({ page }) => {
  const host = startHost(MODEL);
  try {
    await waitUp(true);
    await open(page);
    // The page limits the field to what the host accepts; a page of another version (or a
    // script) may not, and the host's 400 must still reach the user.
    await page.evaluate(() => document.getElementById("question")!.removeAttribute("maxlength"));
    await ask(page, "why ".repeat(300));
    const error = page.locator("#chat-error");
    await expect(error).toBeVisible();
    await expect(error).toHaveAttribute("data-code", "question_too_long");
    await expect(error).toContainText("HTTP 400");
    await expect(error).toContainText("1000 characters");
    await error.scrollIntoViewIfNeeded();
    await page.screenshot({ path: "screenshots/chat-refused.png" });
    await expect(page.locator("#ask")).toBeEnabled();
  } finally {
    await stop(host);
  }
});

test("a full queue: the answer is the diagnosis, and says the model is busy", async ({ page }) => {
  const host = startHost(MODEL);
  try {
    await waitUp(true);
    await open(page);
    // Other clients fill the engine's queue (4 waiting + 1 running) with questions the cache
    // cannot answer.
    const others = Array.from({ length: 10 }, (_, i) =>
      fetch(`${BASE}/api/v1/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: `Why is my Mac slow? (${i})`, strategy: "quality", cache: "bypass" }),
      }).then((r) => r.text(), () => ""),
    );
    await ask(page, "Is my memory OK?");
    const note = page.locator("#model-note");
    await expect(note).toHaveAttribute("data-code", "queue_full");
    await expect(note).toContainText("busy");
    await expect(page.locator("#diagnosis .finding").first()).toBeVisible();
    await Promise.all(others);
  } finally {
    await stop(host);
  }
});

test("a missing model: the answer says which file and what fixes it", async ({ page }) => {
  const host = startHost("/nonexistent/models/missing.gguf");
  try {
    await waitUp(true);
    await open(page);
    await expect(page.locator("#chat-unavailable")).toHaveAttribute("data-code", "model_missing");
    await ask(page, "Why is my Mac slow?");
    const note = page.locator("#model-note");
    await expect(note).toHaveAttribute("data-code", "model_missing");
    await expect(note).toContainText("/nonexistent/models/missing.gguf");
    await expect(note).toContainText("fetch-model.sh");
  } finally {
    await stop(host);
  }
});

test("a host killed mid-answer: the answer is marked interrupted and keeps what arrived", async ({ page }) => {
  const host = startHost(MODEL);
  try {
    await waitUp(true);
    await open(page);
    await page.selectOption("#strategy", "quality");
    await ask(page, "Explain in detail how my memory and CPU are doing.");
    await expect(page.locator("#answer")).not.toHaveAttribute("data-chunks", "0", { timeout: 30_000 });
    host.kill("SIGKILL");
    const error = page.locator("#chat-error");
    await expect(error).toHaveAttribute("data-code", "interrupted");
    await expect(error).toContainText("interrupted");
    expect((await page.locator("#answer").textContent())!.length).toBeGreaterThan(0);
    await expect(page.locator("#answer")).toHaveAttribute("data-done", "false");
    await error.scrollIntoViewIfNeeded();
    await page.screenshot({ path: "screenshots/chat-interrupted.png" });
  } finally {
    await stop(host);
  }
});

test("a stuck host: the badge says stale, then live again", async ({ page }) => {
  const host = startHost(null);
  try {
    await waitUp(true);
    await open(page);
    // The stream stays open but nothing arrives (the process is frozen).
    host.kill("SIGSTOP");
    const conn = page.locator("#conn");
    await expect(conn).toHaveClass(/stale/, { timeout: 10_000 });
    await expect(conn).toHaveText("Stale");
    await page.screenshot({ path: "screenshots/stale.png" });
    host.kill("SIGCONT");
    await expect(conn).toHaveClass(/live/, { timeout: 10_000 });
  } finally {
    host.kill("SIGCONT");
    await stop(host);
  }
});
