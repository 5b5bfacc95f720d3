// Record pages: in-place editing of one field, and the conversion form's optional sections.
// Loaded from a file, never inline: the CSP allows scripts from our origin only.
"use strict";

// A refused inline save (400 bad value, 409 changed by someone else) carries the input with
// its message: swap it in like a success instead of htmx's default of discarding error replies.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  const target = event.detail.target;
  if ((status === 400 || status === 409) && target && target.matches(".inline-field")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Keyboard users keep their place: the input when editing starts, the Edit link when it ends.
document.addEventListener("htmx:load", (event) => {
  const swapped = event.detail.elt;
  if (!(swapped instanceof Element) || !swapped.matches(".inline-field")) return;
  const focusable = swapped.matches(".editing")
    ? swapped.querySelector("[aria-invalid=true], textarea, select, input:not([type=hidden])")
    : swapped.querySelector(".edit-link");
  if (focusable) focusable.focus();
});

// Escape cancels an inline edit.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest && event.target.closest("[data-inline-edit]");
  if (!form) return;
  const cancel = form.querySelector("[data-cancel]");
  if (cancel) { event.preventDefault(); cancel.click(); }
});

// Conversion: the fields of a new person or company matter only when "Create a new …" is
// chosen, the picker only when "Link to another …" is, the opportunity's only when it is
// asked for. Without JavaScript all stay visible.
function syncNewFields(form) {
  const sections = [
    ...Array.from(form.querySelectorAll("[data-new-fields]"), (s) => [s, s.dataset.newFields, "new"]),
    ...Array.from(form.querySelectorAll("[data-pick-fields]"), (s) => [s, s.dataset.pickFields, "other"]),
  ];
  for (const [section, part, value] of sections) {
    const controls = form.querySelectorAll(`[data-new-toggle="${part}"]`);
    if (!controls.length) continue;
    const shown = Array.from(controls).some((control) =>
      control.type === "checkbox" ? control.checked : control.checked && control.value === value);
    section.hidden = !shown;
  }
}

document.addEventListener("change", (event) => {
  if (event.target.matches("[data-new-toggle]")) syncNewFields(event.target.form);
});

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll(".convert-form")) syncNewFields(form);
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});
