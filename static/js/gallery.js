// Orthanc Gallery: small progressive enhancements. Every page works without this file.
"use strict";

// Live filter for tables: <input data-filter-table="table-id">.
function enhanceTableFilters() {
  document.querySelectorAll("input[data-filter-table]").forEach((input) => {
    const table = document.getElementById(input.dataset.filterTable);
    if (!table) return;
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      Array.from(table.tBodies[0].rows).forEach((row) => {  // read each time: scripts may add rows
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      });
    });
  });
}

// Frame picker on multi-frame instances: a slider and arrow keys swap the image in place,
// and the address bar follows so the link can be shared.
function enhanceFramePicker() {
  const form = document.querySelector("[data-frame-picker]");
  const image = document.getElementById("preview");
  if (!form || !image) return;
  const frames = Number(form.dataset.frames);
  const slider = form.querySelector("[data-frame-slider]");
  const input = form.querySelector("[data-frame-input]");
  slider.hidden = false;
  const show = (frame) => {
    frame = Math.max(0, Math.min(frames - 1, frame));
    slider.value = input.value = String(frame);
    image.src = image.dataset.previewBase + (frame ? "?frame=" + frame : "");
    const url = new URL(window.location.href);
    if (frame) url.searchParams.set("frame", String(frame)); else url.searchParams.delete("frame");
    history.replaceState(null, "", url);
  };
  slider.addEventListener("input", () => show(Number(slider.value)));
  form.querySelectorAll("[data-frame-step]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      show(Number(input.value) + Number(link.dataset.frameStep));
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show(Number(input.value));
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea")) return;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") show(Number(input.value) + 1);
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") show(Number(input.value) - 1);
    else return;
    event.preventDefault();
  });
}

// A thumbnail that fails to load (network trouble) becomes a labelled placeholder, not a broken icon.
function guardThumbnails() {
  document.querySelectorAll("img.thumb").forEach((img) => {
    const replace = () => {
      const span = document.createElement("span");
      span.className = "thumb thumb--none";
      span.textContent = img.dataset.unavailable || "Image unavailable";
      if (img.alt) {  // keep saying what the image was, as the server's placeholders do
        span.setAttribute("role", "img");
        span.setAttribute("aria-label", `${img.alt}: ${span.textContent}`);
      }
      img.replaceWith(span);
    };
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) replace();
    else img.addEventListener("error", replace, { once: true });
  });
}

// Copy buttons: <button data-copy-target="input-id" hidden> appears only where the clipboard works.
function enhanceCopyButtons() {
  document.querySelectorAll("input[data-select-on-focus]").forEach((input) => {
    input.addEventListener("focus", () => input.select());
  });
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy-target]").forEach((button) => {
    const input = document.getElementById(button.dataset.copyTarget);
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(input.value);
      const label = button.textContent;
      button.textContent = button.dataset.copied || "Copied";
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  enhanceCopyButtons();
  enhanceTableFilters();
  enhanceFramePicker();
  guardThumbnails();
});
