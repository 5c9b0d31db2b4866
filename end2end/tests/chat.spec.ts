import { test, expect, Page } from "@playwright/test";

// The real host with the real SmolLM2 model (see playwright.config.ts). SmolLM2 writes English
// only: a Japanese question is answered by the host's measured diagnosis alone.

type ChatEvent = { type: string; [field: string]: unknown };

async function open(page: Page) {
  await page.goto("/");
  await expect(page.locator("#conn")).toHaveClass(/live/);
}

/**
 * Asks `question`; resolves to the answer's events, read from the real response body once it
 * ends. Chromium hands Playwright a streamed body's non-ASCII text mis-decoded (Playwright issue
 * #39812), so only ASCII fields (event types, numbers) are compared.
 */
async function ask(page: Page, question: string, strategy?: "speed" | "balanced" | "quality"): Promise<ChatEvent[]> {
  if (strategy) await page.locator("#strategy").selectOption(strategy);
  await page.locator("#question").fill(question);
  const response = page.waitForResponse((r) => r.url().endsWith("/api/v1/chat") && r.request().method() === "POST");
  await page.locator("#ask").click();
  const body = await (await response).text();
  return body
    .split("\n\n")
    .map((frame) =>
      frame
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n"),
    )
    .filter((data) => data.length > 0)
    .map((data) => JSON.parse(data) as ChatEvent);
}

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

test("a chat answer shows the diagnosis, then grows token by token beside its facts", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await open(page);
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

  // The diagnosis: one finding a line, each with its level as text and numbers in bold.
  const findings = page.locator("#diagnosis li.finding");
  expect(await findings.count()).toBeGreaterThan(0);
  await expect(findings.first()).toHaveAttribute("data-level", /^(normal|careful|warning|critical)$/);
  await expect(findings.first().locator(".badge")).toHaveText(/^(Normal|Careful|Warning|Critical)$/);
  await expect(page.locator("#diagnosis b.num").first()).toHaveText(/^\d/);
  await expect(page.locator("#answer-label")).toContainText("Explanation by the model");
  await expect(page.locator("#model-hint")).toHaveCount(0);

  // The facts card shows the numbers the prompt used, and they are real numbers.
  const cpu = page.locator('#facts [data-key="cpu.total"] dd');
  await expect(cpu).toHaveText(/^\d+\.\d%$/);
  await expect(page.locator("#timings")).toContainText(/tok\/s|cached/);
  await page.screenshot({ path: "screenshots/chat-en.png", fullPage: true });
});

test("the diagnosis is visible before the model's first token", async ({ page }) => {
  await open(page);
  // Record, as the DOM changes, when the first finding and the first model text appear.
  await page.evaluate(() => {
    const seen = { diagnosis: -1, token: -1, answerEmptyAtDiagnosis: false };
    (window as unknown as { seen: typeof seen }).seen = seen;
    const answerText = () => document.querySelector("#answer")?.textContent ?? "";
    new MutationObserver(() => {
      const now = performance.now();
      if (seen.diagnosis < 0 && document.querySelector("#diagnosis li")) {
        seen.diagnosis = now;
        seen.answerEmptyAtDiagnosis = answerText() === "";
      }
      if (seen.token < 0 && answerText() !== "") seen.token = now;
    }).observe(document.querySelector("#chat")!, { childList: true, subtree: true, characterData: true });
  });
  // Its own strategy, so no earlier test's answer can come from the cache.
  await page.locator("#strategy").selectOption("speed");
  await page.locator("#question").fill("Why is my Mac slow?");
  await page.locator("#ask").click();
  await expect(page.locator("#answer")).toHaveAttribute("data-done", "true", { timeout: 30_000 });
  const seen = await page.evaluate(() => (window as unknown as { seen: { diagnosis: number; token: number; answerEmptyAtDiagnosis: boolean } }).seen);
  expect(seen.diagnosis, "a finding appeared").toBeGreaterThan(0);
  expect(seen.token, "model text appeared").toBeGreaterThan(0);
  expect(seen.answerEmptyAtDiagnosis, "no model text yet when the diagnosis showed").toBe(true);
  expect(seen.diagnosis).toBeLessThan(seen.token);
});

test("numbers the host flags are underlined, exactly those", async ({ page }) => {
  test.setTimeout(120_000);
  await open(page);
  // A small model asked for detail nearly always writes a number that is no measured fact;
  // whatever it writes, the underlines must match the host's list. Up to three tries to see one.
  const questions = [
    "Explain everything about my CPU, memory, disks and network in detail.",
    "List every number you know about my memory and disks, with sizes in GB.",
    "How many gigabytes of memory and disk do I have, and how fast is my CPU in GHz?",
  ];
  const flaggedSeen: string[] = [];
  for (const [i, question] of questions.entries()) {
    const events = await ask(page, question, "quality");
    await expect(page.locator("#answer")).toHaveAttribute("data-done", "true", { timeout: 30_000 });
    const done = events.find((e) => e.type === "done");
    expect(done, `events: ${events.map((e) => e.type)}`).toBeTruthy();
    const listed = new Set(done!.unverified as string[]);
    const marks = page.locator("#answer u.unverified");
    const marked = await marks.allTextContents();
    for (const m of marked) expect([...listed], `"${m}" is underlined`).toContain(m);
    expect(new Set(marked), `answer: ${done!.answer}`).toEqual(listed);
    for (let k = 0; k < marked.length; k++) {
      await expect(marks.nth(k)).toHaveAttribute("data-unverified", marked[k]);
      await expect(marks.nth(k)).toHaveAttribute("title", "not in the measured facts");
    }
    await expect(page.locator("#unverified-legend")).toHaveCount(listed.size > 0 ? 1 : 0);
    if (listed.size > 0) {
      flaggedSeen.push(...listed);
      await page.locator("#answer u.unverified").first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: "screenshots/chat-unverified.png" });
      break;
    }
    test.info().annotations.push({ type: "no unverified numbers", description: `try ${i + 1}: ${done!.answer}` });
  }
  test.info().annotations.push({ type: "unverified", description: JSON.stringify(flaggedSeen) });
});

test("a Japanese question is answered with the Japanese diagnosis and how to get a Japanese model", async ({ page }) => {
  await open(page);
  await page.locator("#question").fill("メモリ不足ですか？");
  await page.locator("#ask").click();
  await expect(page.locator('#facts [data-key="memory.used"] dt')).toHaveText("メモリ使用量");
  await expect(page.locator("#answer")).toHaveAttribute("data-done", "true", { timeout: 30_000 });
  // SmolLM2 writes no Japanese: the findings are the answer, in Japanese, and no model text.
  const findings = page.locator("#diagnosis li.finding");
  expect(await findings.count()).toBeGreaterThan(0);
  await expect(findings.first()).toContainText(JAPANESE);
  await expect(page.locator("#diagnosis")).toHaveAttribute("lang", "ja");
  await expect(page.locator("#answer")).toBeHidden();
  await expect(page.locator("#answer")).toHaveText("");
  // The hint is in the UI's language (English here) and gives the exact command.
  const hint = page.locator("#model-hint");
  await expect(hint).toBeVisible();
  await expect(hint).toContainText("does not write Japanese");
  await expect(hint.locator("code")).toContainText("model pull");
  await expect(page.locator("#timings")).toContainText("Measured diagnosis");
});

test("Stop ends the answer and the next question works", async ({ page }) => {
  await open(page);
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

test("a Japanese answer renders real Japanese glyphs at MacBook and iPhone widths", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await open(page);
  await page.locator("#lang-toggle").click();
  await expect(page.locator("html")).toHaveAttribute("lang", "ja");
  await page.locator("#question").fill("Macが重いです。原因を教えてください。");
  await page.locator("#ask").click();
  const text = page.locator("#diagnosis li.finding .text").first();
  await expect(text).toContainText(JAPANESE);
  await expect(page.locator("#answer")).toHaveAttribute("data-done", "true", { timeout: 30_000 });
  await expect(page.locator("#diagnosis-title")).toHaveText("計測による診断");
  await expect(page.locator("#model-hint")).toContainText("日本語");
  await expect(page.locator("#model-hint code")).toContainText("model pull");

  // Which font Chromium really drew the sentence with: a CJK one, not boxes from a Latin one.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("DOM.enable");
  await cdp.send("CSS.enable");
  const { root } = await cdp.send("DOM.getDocument", { depth: -1 });
  const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector: "#diagnosis li.finding .text" });
  const { fonts } = await cdp.send("CSS.getPlatformFontsForNode", { nodeId });
  const cjk = fonts.filter((f) => /CJK|Hiragino|Noto Sans JP|Source Han|IPA|Takao|VL Gothic|Droid Sans Fallback|Yu Gothic|Meiryo/i.test(f.familyName));
  expect(cjk, `fonts used: ${JSON.stringify(fonts)}`).not.toEqual([]);
  expect(cjk.reduce((n, f) => n + f.glyphCount, 0)).toBeGreaterThan(0);

  await page.screenshot({ path: "screenshots/chat-ja.png", fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(1);
  await page.locator("#chat").evaluate((el) => el.scrollIntoView({ block: "start" }));
  await page.screenshot({ path: "screenshots/chat-ja-iphone.png" });
});
