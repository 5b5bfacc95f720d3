// The message-template editor: each merge field in the list beside the form gets an Insert
// button that puts it at the cursor of the subject or body (whichever was last in focus; the
// body at first) and copies it to the clipboard where the browser allows. The inserted text
// fires an input event, so the live preview (htmx) follows. Without JavaScript the fields are
// text to copy by hand and the form's Preview button renders the preview.
"use strict";

(() => {
  const targets = [...document.querySelectorAll("[data-merge-target]")];
  if (!targets.length) return;
  let last = document.getElementById("f-body") || targets[0];
  for (const target of targets) target.addEventListener("focus", () => (last = target));
  const status = document.querySelector("[data-merge-status]");
  document.querySelector("[data-merge-hint]")?.removeAttribute("hidden");

  for (const button of document.querySelectorAll("[data-merge-field]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const text = button.dataset.mergeField;
      const start = last.selectionStart ?? last.value.length;
      const end = last.selectionEnd ?? start;
      last.setRangeText(text, start, end, "end");
      last.focus();
      last.dispatchEvent(new Event("input", { bubbles: true }));
      navigator.clipboard?.writeText(text).catch(() => {});
      const label = document.querySelector(`label[for="${CSS.escape(last.id)}"]`)?.textContent || "the template";
      if (status) status.textContent = `Inserted ${text} into ${label}.`;
    });
  }
})();
