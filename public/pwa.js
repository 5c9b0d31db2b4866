// Registers the service worker and announces a new version: the waiting worker takes over
// only when the user chooses to reload, so a page never mixes two builds.
if ("serviceWorker" in navigator) {
  const ja = () => (document.documentElement.lang || "en").startsWith("ja");
  const announce = (worker) => {
    if (document.getElementById("update-banner")) return;
    const bar = document.createElement("div");
    bar.id = "update-banner";
    bar.className = "update-banner";
    bar.setAttribute("role", "status");
    const text = document.createElement("span");
    text.textContent = ja() ? "新しいバージョンがあります。" : "A new version of Mac Status is ready.";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = ja() ? "再読み込み" : "Reload";
    button.addEventListener("click", () => {
      accepted = true;
      worker.postMessage("skip-waiting");
    });
    bar.append(text, button);
    document.body.append(bar);
  };
  // Reload only for an update the user accepted: the first install also changes the
  // controller (clients.claim), and that must not reload the page under the user.
  let accepted = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!accepted) return;
    accepted = false;
    location.reload();
  });
  window.addEventListener("load", async () => {
    try {
      const reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      const watch = (worker) =>
        worker.addEventListener("statechange", () => {
          if (worker.state === "installed" && navigator.serviceWorker.controller) announce(worker);
        });
      if (reg.waiting && navigator.serviceWorker.controller) announce(reg.waiting);
      if (reg.installing) watch(reg.installing);
      reg.addEventListener("updatefound", () => reg.installing && watch(reg.installing));
      // Look for a new build now and then (the host may have been updated while the app stayed open).
      setInterval(() => reg.update().catch(() => {}), 60 * 60 * 1000);
    } catch (e) {
      console.warn("service worker not registered", e);
    }
  });
}
