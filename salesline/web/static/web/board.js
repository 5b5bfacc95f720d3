// The pipeline board: drag a card to another stage (HTML5 drag and drop with a mouse, pointer
// events on a touch screen), or use its Move button (a dialog, for keyboards). The server decides through the same service as the API: a
// refused move snaps the card back and opens the gate panel as a dialog over the board (the
// card's column may be off the screen on a phone); a move done says so in a notice that can
// bring the card into view. No inline handlers: the CSP only runs scripts from our own origin.
"use strict";

(() => {
  const board = document.querySelector("[data-board]");
  if (!board) return;
  const dialog = document.getElementById("move-dialog");
  const dialogSelect = document.getElementById("move-stage");
  const status = document.getElementById("board-status");
  const toast = document.querySelector("[data-toast]");
  let toastCard = null;
  const token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  let dragged = null;
  let dialogCard = null;

  const columnById = (id) => board.querySelector(`.column[data-stage-id="${CSS.escape(id)}"]`);
  const columnByKey = (key) => board.querySelector(`.column[data-stage-key="${CSS.escape(key)}"]`);
  const cardName = (card) => card.querySelector("a").textContent;
  const stageName = (column) => column.querySelector("h2").textContent;
  const opportunityId = (card) => card.id.slice(1);

  function announce(text) {
    status.textContent = text;
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // A visible notice of what a move did, with a way to the card wherever its column is.
  function notify(text, card) {
    toast.querySelector("[data-toast-text]").textContent = text;
    toastCard = card;
    toast.hidden = false;
  }

  // Removed, not closed: its "close" event (Escape, Close) is for a panel the user dismisses.
  function closePanel(card) {
    const panel = document.getElementById(`gate-${opportunityId(card)}`);
    (panel?.closest("dialog") || panel)?.remove();
  }

  function openPanel(card, panel) {
    const dialog = document.createElement("dialog");
    dialog.className = "gate-dialog";
    const title = panel.querySelector("h3");
    if (title) dialog.setAttribute("aria-labelledby", title.id);
    dialog.append(panel);
    document.body.append(dialog);
    if (window.htmx) window.htmx.process(panel);
    dialog.addEventListener("close", () => {
      dialog.remove();
      focusMoveButton(card);
    });
    dialog.showModal();
    (panel.querySelector("h3, [tabindex]") || panel).focus();
  }

  async function post(card, body) {
    // The page's own query string carries its filters: the totals sent back follow them.
    const url =
      board.dataset.moveUrl.replace("/0/", `/${opportunityId(card)}/`) + window.location.search;
    try {
      const response = await fetch(url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "X-Requested-With": "fetch" },
      });
      return { status: response.status, html: await response.text() };
    } catch {
      return { status: 0, html: "" };
    }
  }

  function fallbackPanel(card, httpStatus) {
    const item = document.createElement("div");
    item.className = "gate";
    item.id = `gate-${opportunityId(card)}`;
    const message = document.createElement("p");
    message.className = "error";
    message.tabIndex = -1;
    message.textContent = httpStatus
      ? `The move failed (error ${httpStatus}). Reload the page and try again.`
      : "The server did not answer. Check the connection and try again.";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "secondary";
    close.dataset.gateClose = "";
    close.textContent = "Close";
    item.append(message, close);
    return item;
  }

  // Where the server would list a moved card: an open column undated first, then by expected
  // close date (then by id), a won or lost column latest first, i.e. at the top.
  function placeInOrder(card, column) {
    if (column.dataset.order !== "close-date") return;
    const sortKey = (item) => [
      item.querySelector("time")?.getAttribute("datetime") || "",
      Number(item.id.slice(1)),
    ];
    const [date, id] = sortKey(card);
    const list = column.querySelector(".cards");
    for (const other of list.querySelectorAll(":scope > .card")) {
      if (other === card) continue;
      const [otherDate, otherId] = sortKey(other);
      if (otherDate > date || (otherDate === date && otherId > id)) {
        other.before(card);
        return;
      }
    }
    // Later than every card shown: last of those, before the ones "Show more" would bring.
    list.append(card);
  }

  // Returns the moved card, or null when the move was refused (the panel then has focus).
  async function move(card, column, form) {
    const body = form ? new FormData(form) : new FormData();
    body.set("stage", column.dataset.stageKey);
    closePanel(card);
    toast.hidden = true;
    const home = { list: card.parentElement, next: card.nextElementSibling };
    // The card waits where it was dropped while the server decides.
    column.querySelector(".cards").prepend(card);
    card.setAttribute("aria-busy", "true");
    const result = await post(card, body);
    card.removeAttribute("aria-busy");
    if (result.status === 200) {
      const answer = fragment(result.html);
      for (const total of answer.querySelectorAll(".total")) {
        document.getElementById(total.id)?.replaceWith(total);
      }
      const fresh = answer.querySelector(".card");
      fresh.classList.add("moved");
      card.replaceWith(fresh);
      placeInOrder(fresh, column);
      announce(`${cardName(fresh)} moved to ${stageName(column)}.`);
      notify(`“${cardName(fresh)}” moved to ${stageName(column)}.`, fresh);
      return fresh;
    }
    home.list.insertBefore(card, home.next);
    const panel = fragment(result.html).querySelector(".gate") || fallbackPanel(card, result.status);
    const count = panel.querySelector(".gate-count");
    announce(`${cardName(card)} stays in ${stageName(home.list.closest(".column"))}. ${count ? count.textContent : ""}`);
    openPanel(card, panel);
    return null;
  }

  function focusMoveButton(card) {
    card?.querySelector("[data-move]")?.focus();
  }

  // --- drag and drop ------------------------------------------------------------------------

  function clearOver() {
    for (const column of board.querySelectorAll(".column.over")) column.classList.remove("over");
  }

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest?.(".card");
    if (!card) return;
    if (touch) {
      // A long press starts the browser's own drag on a touch screen, which cancels the
      // pointer the touch drag follows: the touch drag below is the one that counts.
      event.preventDefault();
      return;
    }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
    card.classList.add("dragging");
  });

  board.addEventListener("dragend", () => {
    dragged?.classList.remove("dragging");
    dragged = null;
    clearOver();
  });

  board.addEventListener("dragover", (event) => {
    const column = event.target.closest?.(".column");
    if (!column || !dragged) return;
    event.preventDefault(); // this column accepts the drop
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("over")) {
      clearOver();
      column.classList.add("over");
    }
  });

  board.addEventListener("dragleave", (event) => {
    const column = event.target.closest?.(".column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("over");
  });

  board.addEventListener("drop", (event) => {
    const column = event.target.closest?.(".column");
    const card = dragged;
    if (!column || !card) return;
    event.preventDefault();
    clearOver();
    card.classList.remove("dragging");
    if (column.dataset.stageId !== card.dataset.stage) move(card, column);
  });

  // --- touch: press and hold a card, then drag it (HTML5 drag events never fire on touch) ------
  // A quick swipe still scrolls the board; holding still for a moment picks the card up. While
  // it is held the page does not scroll; the board scrolls sideways near its edges, so a column
  // off the screen of a phone can be reached. The drop goes through the same move as a mouse.

  const HOLD_MS = 350;
  const SLOP_PX = 10;
  const EDGE_PX = 40;
  let touch = null; // {card, pointerId, x, y, timer, lifted, ghost, column, frame}
  let swallowClick = false;

  function columnAt(x, y) {
    const under = document.elementFromPoint(x, y);
    return under?.closest?.(".column") && board.contains(under) ? under.closest(".column") : null;
  }

  function endTouch() {
    if (!touch) return;
    clearTimeout(touch.timer);
    cancelAnimationFrame(touch.frame);
    touch.ghost?.remove();
    touch.card.draggable = true;
    touch.card.classList.remove("dragging");
    clearOver();
    touch = null;
  }

  // By time, not by frame: the same speed on a slow phone as on a fast one.
  const EDGE_SPEED = 0.8; // pixels per millisecond
  function edgeScroll(now) {
    if (!touch?.lifted) return;
    const elapsed = Math.min(now - (touch.lastFrame ?? now), 100);
    touch.lastFrame = now;
    const box = board.getBoundingClientRect();
    if (touch.x < box.left + EDGE_PX) board.scrollLeft -= elapsed * EDGE_SPEED;
    else if (touch.x > box.right - EDGE_PX) board.scrollLeft += elapsed * EDGE_SPEED;
    touch.frame = requestAnimationFrame(edgeScroll);
  }

  function lift() {
    const { card } = touch;
    touch.lifted = true;
    card.classList.add("dragging");
    const ghost = card.cloneNode(true);
    ghost.removeAttribute("id");
    ghost.classList.add("touch-ghost");
    ghost.setAttribute("aria-hidden", "true");
    ghost.style.width = `${card.getBoundingClientRect().width}px`;
    document.body.append(ghost);
    touch.ghost = ghost;
    placeGhost();
    navigator.vibrate?.(20);
    touch.frame = requestAnimationFrame(edgeScroll);
  }

  function placeGhost() {
    touch.ghost.style.transform = `translate(${touch.x - 20}px, ${touch.y - 20}px)`;
  }

  board.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" || !event.isPrimary) return;
    const card = event.target.closest?.(".card");
    if (!card || event.target.closest("[data-move]")) return;
    endTouch();
    touch = { card, pointerId: event.pointerId, x: event.clientX, y: event.clientY, lifted: false };
    // Held long enough, a draggable card would start the browser's drag (and cancel this
    // pointer) under a slow machine's timing: not draggable while a finger is on it.
    card.draggable = false;
    touch.start = { x: event.clientX, y: event.clientY };
    touch.timer = setTimeout(lift, HOLD_MS);
  });

  function follow(x, y) {
    touch.x = x;
    touch.y = y;
    placeGhost();
    const column = columnAt(x, y);
    if (column !== touch.column) {
      clearOver();
      column?.classList.add("over");
      touch.column = column;
    }
  }

  function drop(x, y) {
    const { card } = touch;
    const column = columnAt(x, y);
    endTouch();
    swallowClick = true; // the release is not a tap on the card's link
    setTimeout(() => (swallowClick = false), 400);
    if (column && column.dataset.stageId !== card.dataset.stage) move(card, column);
  }

  document.addEventListener("pointermove", (event) => {
    if (!touch || event.pointerId !== touch.pointerId) return;
    if (!touch.lifted) {
      // Moved before the hold: a scroll, not a drag.
      const moved = Math.hypot(event.clientX - touch.start.x, event.clientY - touch.start.y);
      if (moved > SLOP_PX) endTouch();
      return;
    }
    follow(event.clientX, event.clientY);
  });

  // Once the card is held, the touch events drive the drag as well as the pointer's: a browser
  // may cancel the pointer (its own long-press drag, a pan it decided on under load) while the
  // finger is still down, and the drag must not die under it. The finger drags the card, not
  // the page.
  document.addEventListener(
    "touchmove",
    (event) => {
      if (!touch?.lifted) return;
      if (event.cancelable) event.preventDefault();
      const finger = event.touches[0];
      if (finger) follow(finger.clientX, finger.clientY);
    },
    { passive: false },
  );

  document.addEventListener("touchend", (event) => {
    const finger = event.changedTouches[0];
    if (touch?.lifted && finger && event.touches.length === 0) drop(finger.clientX, finger.clientY);
  });

  document.addEventListener("touchcancel", () => endTouch());

  document.addEventListener("pointerup", (event) => {
    if (!touch || event.pointerId !== touch.pointerId) return;
    if (touch.lifted) drop(event.clientX, event.clientY);
    else endTouch();
  });

  document.addEventListener("pointercancel", (event) => {
    if (!touch || event.pointerId !== touch.pointerId) return;
    // A held card on a touch screen carries on with the touch events (above).
    if (touch.lifted && event.pointerType === "touch") return;
    endTouch();
  });

  board.addEventListener("contextmenu", (event) => {
    if (touch?.lifted || (touch && event.target.closest(".card"))) event.preventDefault();
  });

  board.addEventListener(
    "click",
    (event) => {
      if (!swallowClick) return;
      swallowClick = false;
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );

  // --- the Move dialog, the gate panel's buttons and its retry ---------------------------------

  board.addEventListener("click", (event) => {
    const moveButton = event.target.closest("[data-move]");
    if (moveButton) {
      event.preventDefault(); // the link is the way without JavaScript: a page of stages
      dialogCard = moveButton.closest(".card");
      dialog.querySelector("[data-name]").textContent = cardName(dialogCard);
      const options = [...dialogSelect.options];
      const current = options.findIndex((option) => option.value === dialogCard.dataset.stage);
      for (const option of options) option.disabled = option.value === dialogCard.dataset.stage;
      // The next stage is the usual move; from the last one, the one before it.
      dialogSelect.selectedIndex = current + 1 < options.length ? current + 1 : Math.max(0, current - 1);
      dialog.showModal();
      showNeeds();
      return;
    }
  });

  // What the chosen stage needs, before the user moves: the server marks each criterion met or
  // still to do for this opportunity. Only the latest answer is shown.
  const needsBox = dialog.querySelector("[data-needs]");
  let needsAsked = 0;
  async function showNeeds() {
    const asked = ++needsAsked;
    needsBox.replaceChildren();
    const key = dialogSelect.selectedOptions[0]?.dataset.key;
    if (!dialogCard || !key) return;
    const url = board.dataset.moveUrl.replace("/0/", `/${opportunityId(dialogCard)}/`);
    try {
      const response = await fetch(`${url}?stage=${encodeURIComponent(key)}`, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      });
      if (!response.ok || asked !== needsAsked) return;
      needsBox.replaceChildren(fragment(await response.text()));
    } catch {
      // Nothing to show: the move itself still says what is missing.
    }
  }
  dialogSelect.addEventListener("change", showNeeds);

  // The panel's dialog lives outside the board, at the end of the page.
  document.addEventListener("click", (event) => {
    const closeButton = event.target.closest("[data-gate-close]");
    if (closeButton) closeButton.closest("dialog")?.close();
  });

  toast.querySelector("[data-toast-close]").addEventListener("click", () => {
    toast.hidden = true;
  });

  toast.querySelector("[data-toast-show]").addEventListener("click", () => {
    toast.hidden = true;
    if (!toastCard?.isConnected) return;
    toastCard.scrollIntoView({ block: "center", inline: "center" });
    toastCard.querySelector("[data-move]")?.focus({ preventScroll: true });
  });

  dialog.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    dialog.close();
    const column = columnById(dialogSelect.value);
    if (!dialogCard || !column || column.dataset.stageId === dialogCard.dataset.stage) return;
    focusMoveButton(await move(dialogCard, column));
  });

  dialog.querySelector("[data-dialog-close]").addEventListener("click", () => {
    dialog.close();
    focusMoveButton(dialogCard);
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest(".gate-form");
    if (!form) return;
    event.preventDefault();
    const card = document.getElementById(form.dataset.card);
    const column = columnByKey(form.elements.stage?.value || "");
    if (card && column) focusMoveButton(await move(card, column, form));
  });

  // --- "Show more" (htmx): no card twice, and focus on the first new one ------------------------

  let cardsBefore = 0;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target.matches?.(".cards")) cardsBefore = event.detail.target.children.length;
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const list = event.detail.target;
    if (!list.matches?.(".cards")) return;
    // A card moved here earlier may come again in the next page: keep the first one.
    const seen = new Set();
    for (const card of [...list.children]) {
      if (seen.has(card.id)) card.remove();
      else seen.add(card.id);
    }
    const active = document.activeElement;
    if (!active || active === document.body) list.children[cardsBefore]?.querySelector("a")?.focus();
  });
})();
