// Settings pages: copy a freshly created API token. Delegated from the document, so it also
// works on the fragment htmx swaps in.
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = button.closest("section")?.querySelector("[data-copy-status]");
  field.focus();
  field.select();
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    // No clipboard permission (or not a secure context): the text stays selected to copy by hand.
  }
  if (status) status.textContent = copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.";
});

// A custom field's key follows its label as it is typed (the server makes the same key when the
// box is left empty), until someone types a key of their own.
for (const key of document.querySelectorAll("[data-key-from]")) {
  const label = document.getElementById(key.dataset.keyFrom);
  if (!label) continue;
  let own = key.value !== "";
  key.addEventListener("input", () => {
    own = key.value !== "";
  });
  label.addEventListener("input", () => {
    if (own) return;
    const folded = label.value.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase();
    let made = folded.replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60).replace(/_+$/, "");
    if (/^[0-9]/.test(made)) made = `f_${made}`.slice(0, 60);
    key.value = made;
  });
}
