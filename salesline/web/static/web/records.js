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
});

// "Add a note" at the top of a record page: the jump lands in the note's box, ready to type.
// (Following the link itself would move the focus to the heading it names.)
document.addEventListener("click", (event) => {
  if (!event.target.closest("[data-add-note]")) return;
  const heading = document.getElementById("notes");
  const box = document.getElementById("note-body");
  if (!heading || !box) return;
  event.preventDefault();
  heading.scrollIntoView();
  box.focus({ preventScroll: true });
});

// An opportunity form shows what the chosen stage needs; a new choice shows its own list.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || select.name !== "stage") return;
  const form = select.closest("form");
  if (!form) return;
  for (const block of form.querySelectorAll("[data-stage-needs]")) {
    block.hidden = block.dataset.stageNeeds !== select.value;
  }
});

// A checklist item shows under every stage past its own: one tick counts for all of them.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.name !== "checks" || !box.closest(".stage-needs")) return;
  for (const twin of box.form.querySelectorAll(`.stage-needs input[name="checks"]`)) {
    if (twin.value === box.value) twin.checked = box.checked;
  }
});
