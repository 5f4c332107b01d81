// linli's own script: no inline scripts anywhere (the CSP forbids them).
// Announces HTMX swaps to screen readers and moves focus to new content.
document.addEventListener("htmx:afterSwap", (event) => {
  const live = document.getElementById("live");
  const target = event.detail && event.detail.target;
  if (!live || !target) return;
  const heading = target.querySelector("h1, h2, [data-announce]");
  live.textContent = heading ? heading.textContent.trim() : (document.documentElement.lang === "en" ? "Content updated" : "内容已更新");
});
document.addEventListener("htmx:responseError", (event) => {
  const live = document.getElementById("live");
  if (live) live.textContent = document.documentElement.lang === "en" ? "Something went wrong. Please try again." : "操作失败，请重试。";
});
