// Small behaviours for every page. No inline handlers: the CSP allows scripts from our origin only.
"use strict";

document.addEventListener("change", (event) => {
  const target = event.target;
  // A select that stands for its own form (the organisation switcher).
  if (target.matches("[data-submit-on-change]")) target.form.requestSubmit();
  // "Select all" on a list page ticks every row box of the same form.
  if (target.matches("[data-select-all]")) {
    for (const box of target.form.querySelectorAll("input[name=ids]")) box.checked = target.checked;
  }
  if (target.form && target.form.matches("[data-bulk]")) updateBulkCount(target.form);
});

function updateBulkCount(form) {
  const ticked = form.querySelectorAll("input[name=ids]:checked").length;
  const output = form.querySelector("[data-bulk-count]");
  if (output) output.textContent = ticked ? `${ticked} selected` : "";
  for (const button of form.querySelectorAll("[data-needs-selection]")) button.disabled = !ticked;
  // A phone shows the bar only while rows are ticked (salesline.css); without JavaScript the
  // form never gets these marks and the bar stays in place.
  form.dataset.bulkReady = "";
  form.classList.toggle("has-selection", ticked > 0);
}

document.addEventListener("keydown", (event) => {
  // "/" jumps to the global search, as in most web apps; not while typing in a field.
  if (event.key === "/" && !event.target.closest("input, textarea, select, [contenteditable]")) {
    const box = document.getElementById("global-q");
    if (box) { event.preventDefault(); box.focus(); }
  }
  if (event.key === "Escape" && event.target.id === "global-q") {
    document.getElementById("global-results").replaceChildren();
  }
});

// Bulk bars start disabled until a row is ticked; again after htmx swaps a new page of rows in.
function initBulkForms(root) {
  for (const form of root.querySelectorAll("form[data-bulk]")) updateBulkCount(form);
}
document.addEventListener("DOMContentLoaded", () => {
  initBulkForms(document);
  // A refused form (a record's, a setting's) starts at its error summary: it is read out, and
  // its links lead to each input in turn.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});
document.addEventListener("htmx:afterSettle", (event) => {
  initBulkForms(event.target);
  announceSwapped(event.target);
});

// A fragment swapped in by polling may carry a sentence for screen readers (data-announce):
// it goes to the page's one status region, once, instead of the region being the fragment
// itself, which would be read out at every poll.
function announceSwapped(root) {
  const announcer = document.getElementById("announcer");
  if (!announcer) return;
  const items = [root, ...root.querySelectorAll("[data-announce]")].filter(
    (el) => el.dataset && el.dataset.announce,
  );
  for (const item of items) {
    announcer.textContent = item.dataset.announce;
    delete item.dataset.announce;
  }
}

// A form that must not be sent twice (running an import): its buttons are disabled once it
// is on its way. After the submit event, so the clicked button's own value is still sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-submit-once]")) return;
  setTimeout(() => {
    for (const button of form.querySelectorAll("button")) button.disabled = true;
  }, 0);
});

// A row of links that scrolls sideways (the top menu on a phone) fades at the edge where more
// links wait, so that nobody takes "Board" for missing.
for (const row of document.querySelectorAll(".sections")) {
  const update = () => {
    row.classList.toggle("more-right", row.scrollLeft + row.clientWidth < row.scrollWidth - 1);
    row.classList.toggle("more-left", row.scrollLeft > 1);
  };
  row.addEventListener("scroll", update, { passive: true });
  window.addEventListener("resize", update);
  update();
}
