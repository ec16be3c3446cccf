// Series viewer: mouse wheel, keys, slider and cine over server-rendered slices.
// The page works without this file (every slice has its own URL, reached by the Previous/Next
// links and the slice form); this swaps the image in place, prefetches neighbours and keeps
// the address bar on the current slice so the link can be shared.
"use strict";

const PREFETCH_AHEAD = 8;
const PREFETCH_BEHIND = 2;
const KEEP_IMAGES = 600;
const WHEEL_NOTCH = 40; // pixels of wheel travel per slice on trackpads; one mouse-wheel notch is one slice
const PAGE_STEP = 10;

function setupViewer(root) {
  const count = Number(root.dataset.count);
  let number = Number(root.dataset.number);
  let direction = 1;
  const labels = JSON.parse(root.dataset.labels || "[]");
  const image = document.getElementById("viewer-image");
  const figure = root.querySelector("[data-viewer-figure]");
  const slider = root.querySelector("[data-slider]");
  const input = root.querySelector("[data-number-input]");
  const captionNumber = root.querySelector("[data-caption-number]");
  const captionPosition = root.querySelector("[data-caption-position]");
  const stepLinks = root.querySelectorAll("[data-step]");
  const sliceFields = root.querySelectorAll("input[type=hidden][name=slice]");
  const page = new URL(window.location.href);
  const imageBase = new URL(root.dataset.imageUrl, page);
  const images = new Map(); // image URL -> Image object: prefetched, and kept so the browser keeps them

  // The same parameters, in the same order, as the server's links: one URL (and one cache entry) per image.
  const params = (n) => {
    const query = new URLSearchParams({ slice: String(n) });
    new URLSearchParams(page.search).forEach((value, name) => {
      if (!["slice", "instance", "frame"].includes(name)) query.append(name, value);
    });
    return query.toString();
  };
  const pageUrl = (n) => `${page.pathname}?${params(n)}`;
  const imageUrl = (n) => `${imageBase.pathname}?${params(n)}`;
  const clamp = (n) => Math.max(1, Math.min(count, n));

  function fetchImage(n) {
    const url = imageUrl(n);
    if (!images.has(url)) {
      const picture = new Image();
      picture.decoding = "async";
      picture.src = url;
      images.set(url, picture);
      if (images.size > KEEP_IMAGES) images.delete(images.keys().next().value);
    }
    return images.get(url);
  }

  function prefetch() {
    for (let i = 1; i <= PREFETCH_AHEAD; i++) {
      const n = number + direction * i;
      if (n >= 1 && n <= count) fetchImage(n);
    }
    for (let i = 1; i <= PREFETCH_BEHIND; i++) {
      const n = number - direction * i;
      if (n >= 1 && n <= count) fetchImage(n);
    }
  }

  function show(target) {
    target = clamp(Math.round(target));
    if (Number.isNaN(target) || target === number) return;
    direction = target > number ? 1 : -1;
    number = target;
    image.src = fetchImage(number).src;
    image.alt = image.dataset.alt.replace("{n}", String(number)); // the page's words, this slice's number
    slider.value = input.value = String(number);
    captionNumber.textContent = String(number);
    captionPosition.textContent = labels[number - 1] || "—";
    stepLinks.forEach((link) => {
      const next = number + Number(link.dataset.step);
      if (next >= 1 && next <= count) {
        link.href = pageUrl(next);
        link.removeAttribute("aria-disabled");
      } else {
        link.removeAttribute("href");
        link.setAttribute("aria-disabled", "true");
      }
    });
    sliceFields.forEach((field) => { field.value = String(number); });
    root.dataset.number = String(number);
    document.title = document.title.replace(/\d+\/(\d+)/, `${number}/$1`);
    history.replaceState(null, "", pageUrl(number));
    prefetch();
  }

  // Slider, slice form and Previous/Next links.
  slider.hidden = count < 2;
  slider.addEventListener("input", () => show(Number(slider.value)));
  input.form.addEventListener("submit", (event) => {
    event.preventDefault();
    show(Number(input.value));
  });
  stepLinks.forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      show(number + Number(link.dataset.step));
    });
  });

  // Mouse wheel over the image: one notch, one slice; trackpads move in proportion.
  let wheelTravel = 0;
  figure.addEventListener("wheel", (event) => {
    event.preventDefault();
    const delta = event.deltaMode === 0 ? event.deltaY : event.deltaY * WHEEL_NOTCH;
    if (Math.abs(delta) >= WHEEL_NOTCH) {
      wheelTravel = 0;
      show(number + Math.sign(delta));
      return;
    }
    wheelTravel += delta;
    if (Math.abs(wheelTravel) >= WHEEL_NOTCH) {
      show(number + Math.sign(wheelTravel));
      wheelTravel = 0;
    }
  }, { passive: false });

  // Keys, unless the user is typing in a field.
  const keys = {
    ArrowDown: () => number + 1, ArrowRight: () => number + 1,
    ArrowUp: () => number - 1, ArrowLeft: () => number - 1,
    PageDown: () => number + PAGE_STEP, PageUp: () => number - PAGE_STEP,
    Home: () => 1, End: () => count,
  };
  document.addEventListener("keydown", (event) => {
    const move = keys[event.key];
    if (!move || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, select, textarea, [contenteditable]")) return;
    event.preventDefault();
    show(move());
  });

  // Cine: step forward at the chosen rate, looping; wait for a slice that is still loading.
  const cine = root.querySelector("[data-cine]");
  const play = cine.querySelector("[data-play]");
  const fps = cine.querySelector("[data-fps]");
  let timer = null;
  const tick = () => {
    const next = number >= count ? 1 : number + 1;
    const picture = fetchImage(next);
    if (!picture.complete) return;
    if (next === 1) number = 0; // loop: show(1) from the last slice moves forward
    show(next);
  };
  const rate = () => Math.max(1, Math.min(60, Number(fps.value) || 10));
  const start = () => {
    clearInterval(timer);
    timer = setInterval(tick, 1000 / rate());
    play.textContent = play.dataset.stopLabel;
    play.setAttribute("aria-pressed", "true");
    root.dataset.playing = "true";
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
    play.textContent = play.dataset.playLabel;
    play.setAttribute("aria-pressed", "false");
    delete root.dataset.playing;
  };
  play.addEventListener("click", () => (timer ? stop() : start()));
  fps.addEventListener("change", () => { if (timer) start(); });
  cine.hidden = count < 2;

  // A new preset applies at once, when picked with the mouse. Arrow keys change a closed list at
  // every press: from the keyboard the page must not reload at each step (WCAG 3.2.2), so a change
  // made with keys applies on Enter (or the Apply button).
  root.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    let keyed = false;
    select.addEventListener("pointerdown", () => { keyed = false; });
    select.addEventListener("keydown", (event) => {
      keyed = true;
      if (event.key !== "Enter") return;
      event.preventDefault();
      select.form.requestSubmit();
    });
    select.addEventListener("change", () => { if (!keyed) select.form.requestSubmit(); });
  });

  history.replaceState(null, "", pageUrl(number));
  prefetch();
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-viewer]");
  if (root) setupViewer(root);
});
