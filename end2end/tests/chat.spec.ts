import { test, expect } from "@playwright/test";

test("a chat answer grows token by token beside its facts", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#conn")).toHaveClass(/live/);
  await expect(page.locator("#chat-unavailable")).toHaveCount(0);
  await page.locator("#question").fill("Why is my Mac slow?");
  await page.locator("#ask").click();

  // Watch the answer while it streams: record every distinct length we see.
  const answer = page.locator("#answer");
  await expect(answer).toBeVisible();
  const lengths = new Set<number>();
  await expect
    .poll(
      async () => {
        const text = (await answer.textContent()) ?? "";
        if (text.length > 0) lengths.add(text.length);
        return await answer.getAttribute("data-done");
      },
      { timeout: 30_000, intervals: [30] },
    )
    .toBe("true");
  expect(lengths.size, `answer lengths seen: ${[...lengths]}`).toBeGreaterThanOrEqual(3);
  expect(Number(await answer.getAttribute("data-chunks"))).toBeGreaterThanOrEqual(3);

  // The facts card shows the numbers the prompt used, and they are real numbers.
  const cpu = page.locator('#facts [data-key="cpu.total"] dd');
  await expect(cpu).toHaveText(/^\d+\.\d%$/);
  await expect(page.locator("#timings")).toContainText(/tok\/s|cached/);
  await page.screenshot({ path: "screenshots/chat.png", fullPage: true });
});

test("a Japanese question is answered with Japanese facts", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#conn")).toHaveClass(/live/);
  await page.locator("#question").fill("メモリ不足ですか？");
  await page.locator("#ask").click();
  await expect(page.locator('#facts [data-key="memory.used"] dt')).toHaveText("メモリ使用量");
  await expect(page.locator("#answer")).toHaveAttribute("data-done", "true", { timeout: 30_000 });
});

test("Stop ends the answer and the next question works", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#conn")).toHaveClass(/live/);
  await page.locator("#strategy").selectOption("quality");
  await page.locator("#question").fill("Explain everything about my CPU, memory, disks and network in detail.");
  await page.locator("#ask").click();
  await expect(page.locator("#answer")).not.toHaveText("", { timeout: 15_000 });
  await page.locator("#stop").click();
  await expect(page.locator("#ask")).toBeEnabled({ timeout: 5_000 });
  await page.locator("#strategy").selectOption("speed");
  await page.locator("#question").fill("Is my disk full?");
  await page.locator("#ask").click();
  await expect(page.locator("#answer")).toHaveAttribute("data-done", "true", { timeout: 30_000 });
});
