// Orthanc Gallery upload page: drag and drop (files and folders), progress per file and overall,
// running counts, and the report without a page reload. Without this file the form posts as usual
// and the server answers with the report page; with it, the same endpoint gets the same form fields
// (and CSRF token) in small batches, answered as JSON.
"use strict";

(() => {
  const form = document.querySelector("[data-upload-form]");
  const run = document.querySelector("[data-upload-run]");
  if (!form || !run || !window.FormData || !window.XMLHttpRequest) return;

  const BATCH_BYTES = 8 * 1024 * 1024; // small files travel together, up to this many bytes...
  const BATCH_FILES = 32; // ...or this many files per request
  const PARALLEL = 2; // requests at once: one uploads while the server stores the other
  const LABELS = { stored: "Stored", already_stored: "Already stored", rejected: "Rejected", skipped: "Skipped" };
  const NOT_SENT_ORTHANC = "Orthanc unavailable — nothing was stored from this file, try again";
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  const batchCap = Math.min(BATCH_BYTES, maxBytes * 0.9); // a batch must stay under the server's limit
  const $ = (selector) => run.querySelector(selector);
  const ui = {
    title: $("[data-run-title]"),
    bar: $("[data-run-bar]"),
    status: $("[data-run-status]"),
    counts: $("[data-run-counts]"),
    studies: $("[data-run-studies]"),
    rows: $("[data-run-rows]"),
  };
  let running = false;

  // The live region (role=status): its messages come from the page, so they are translated with it.
  const announcer = document.querySelector("[data-run-announce]");
  const ANNOUNCE_EVERY_MS = 3000; // progress at most this often, so a screen reader is not flooded
  let announcedAt = 0;
  // A message from the page with its {placeholders} filled in.
  const fill = (message, values) =>
    (message || "").replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  function announce(message, values, always = false) {
    if (!announcer || !message || (!always && Date.now() - announcedAt < ANNOUNCE_EVERY_MS)) return;
    announcedAt = Date.now();
    announcer.textContent = fill(message, values);
  }

  function humanSize(size) {
    let value = size;
    for (const unit of ["B", "KB", "MB", "GB"]) {
      if (value < 1024) return unit === "B" ? `${value} B` : `${value.toFixed(1)} ${unit}`;
      value /= 1024;
    }
    return `${value.toFixed(1)} TB`;
  }

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  // -- choosing files: the two inputs, or a drop of files and folders --------------------------

  function picked(file, field, name) {
    return { file, field, name, size: file.size, sent: 0, done: false, row: null };
  }

  function fromInputs() {
    const files = Array.from(form.elements.files.files).map((f) => picked(f, "files", f.name));
    const folder = Array.from(form.elements.folder.files).map((f) => picked(f, "folder", f.webkitRelativePath || f.name));
    return files.concat(folder);
  }

  const readEntries = (reader) => new Promise((resolve, reject) => reader.readEntries(resolve, reject));
  const entryFile = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));

  // A dropped folder arrives as a directory entry; walk it (readEntries answers in chunks until empty).
  async function walk(entry, out, inFolder) {
    const name = inFolder ? entry.fullPath.replace(/^\//, "") : entry.name;
    if (entry.isFile) {
      try {
        out.push(picked(await entryFile(entry), inFolder ? "folder" : "files", name));
      } catch (error) {
        out.push({ name, size: 0, sent: 0, done: false, row: null, error: "the browser could not read this file" });
      }
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (let chunk = await readEntries(reader); chunk.length; chunk = await readEntries(reader)) {
        for (const child of chunk) await walk(child, out, true);
      }
    }
  }

  async function fromDrop(dataTransfer) {
    // Entries must be taken before the first await: the item list is emptied once the event ends.
    const entries = Array.from(dataTransfer.items || [])
      .filter((item) => item.kind === "file")
      .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
    if (!entries.length || entries.includes(null)) {
      return Array.from(dataTransfer.files).map((f) => picked(f, "files", f.name));
    }
    const out = [];
    for (const entry of entries) await walk(entry, out, false);
    return out;
  }

  // -- the report, built as the server's report page is ------------------------------------------

  function countsLine(counts, total) {
    const line = element("p", { class: "upload-counts" });
    line.append(element("span", { class: "upload-count upload-count--total" }, element("strong", {}, String(total)),
      ` file${total === 1 ? "" : "s"}:`));
    for (const [key, label] of Object.entries(LABELS)) {
      line.append(" ", element("span", { class: `upload-count upload-count--${key}` },
        element("strong", {}, String(counts[key])), ` ${label.toLowerCase()}`));
    }
    return line;
  }

  function fileRow(name, size) {
    const progress = element("progress", { max: String(Math.max(size, 1)), value: "0", "aria-label": name });
    return element("tr", { class: "outcome-pending" },
      element("td", { class: "upload-table__name" }, name),
      element("td", { class: "upload-table__size" }, humanSize(size)),
      element("td", {}, progress),
      element("td", { class: "muted" }, "waiting"));
  }

  function itemRow(item) {
    const name = element("td", { class: "upload-table__name" }, item.file);
    if (item.entry) name.append(" ", element("span", { class: "muted" }, "›"), " ", item.entry);
    const details = element("td");
    if (item.study_url) {
      const links = [["Patient", item.patient_url], ["Study", item.study_url], ["Series", item.series_url],
        ["Image", item.instance_url]];
      links.forEach(([label, url], index) => {
        if (index) details.append(" · ");
        details.append(element("a", { href: url }, label));
      });
    } else {
      details.append(item.reason);
    }
    return element("tr", { class: `outcome-${item.outcome}` }, name,
      element("td", { class: "upload-table__size" }, item.size === null ? "—" : humanSize(item.size)),
      element("td", {}, element("span", { class: `outcome outcome--${item.outcome}` }, LABELS[item.outcome])),
      details);
  }

  function studyCard(study) {
    const thumb = study.thumbnail_url
      ? element("img", { class: "thumb", src: study.thumbnail_url, alt: fill(run.dataset.thumbAlt,
        { modalities: study.modalities.join("/"), study: study.description || study.date }),
        loading: "lazy", width: "256", height: "256" })
      : element("span", { class: "thumb thumb--none" }, "No image");
    const chips = study.modalities.map((m) => element("abbr", { class: "chip" }, m));
    return element("li", { class: "card" },
      element("a", { class: "card__link", href: study.url }, thumb,
        element("span", { class: "card__title" }, study.description || "(no description)")),
      element("p", { class: "card__meta" }, `${study.date || "no date"} `, ...chips),
      element("dl", { class: "card__facts" },
        element("div", {}, element("dt", {}, "Patient"), element("dd", {},
          element("a", { href: study.patient_url }, study.patient_name || study.patient_id || "(no name)"))),
        element("div", {}, element("dt", {}, "Series"), element("dd", {}, String(study.series_count)))));
  }

  // -- one upload: batches of files, sent PARALLEL at a time ---------------------------------------

  class Upload {
    constructor(files) {
      this.files = files;
      this.total = files.reduce((sum, f) => sum + f.size, 0);
      this.counts = { stored: 0, already_stored: 0, rejected: 0, skipped: 0 };
      this.items = 0;
      this.studies = new Map();
      this.stopReason = "";
      this.announcedDone = 0;
    }

    batches() {
      const batches = [];
      let batch = [];
      let bytes = 0;
      for (const file of this.files) {
        if (file.error || file.size > maxBytes) {
          const reason = file.error || `larger than the upload limit of ${humanSize(maxBytes)}; not sent`;
          this.finish(file, [{ file: file.name, entry: "", size: file.size, outcome: "rejected", reason }]);
          continue;
        }
        const alone = file.size > batchCap || /\.zip$/i.test(file.name);
        if (batch.length && (alone || bytes + file.size > batchCap || batch.length >= BATCH_FILES)) {
          batches.push(batch);
          batch = [];
          bytes = 0;
        }
        batch.push(file);
        bytes += file.size;
        if (alone) {
          batches.push(batch);
          batch = [];
          bytes = 0;
        }
      }
      if (batch.length) batches.push(batch);
      // The server numbers a request's files field by field ("files", then "folder"): send them in that order.
      return batches.map((b) => b.filter((f) => f.field === "files").concat(b.filter((f) => f.field === "folder")));
    }

    async start() {
      this.files.forEach((file) => {
        file.row = fileRow(file.name, file.size);
        ui.rows.append(file.row);
      });
      const queue = this.batches();
      const worker = async () => {
        for (let batch = queue.shift(); batch; batch = queue.shift()) {
          if (this.stopReason) this.notSent(batch);
          else await this.send(batch);
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
    }

    send(batch) {
      return new Promise((resolve) => {
        const data = new FormData();
        data.append("csrf_token", form.elements.csrf_token.value);
        batch.forEach((file) => data.append(file.field, file.file, file.name));
        const batchBytes = batch.reduce((sum, f) => sum + f.size, 0);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.responseType = "json";
        batch.forEach((file) => this.note(file, "sending"));
        xhr.upload.addEventListener("progress", (event) => {
          if (!event.lengthComputable) return;
          let offset = (event.loaded / event.total) * batchBytes; // multipart overhead spread evenly
          for (const file of batch) {
            file.sent = Math.max(0, Math.min(file.size, offset));
            offset -= file.size;
            file.row.querySelector("progress")?.setAttribute("value", String(file.sent));
            this.note(file, file.sent >= file.size ? "sent" : "sending");
          }
          this.show();
        });
        xhr.upload.addEventListener("load", () => batch.forEach((file) => this.note(file, "storing in Orthanc…")));
        xhr.addEventListener("load", () => {
          if (xhr.status === 200 && xhr.response && xhr.response.report) this.apply(batch, xhr.response.report);
          else this.failed(batch, xhr.status, xhr.response?.error?.message || `the server answered ${xhr.status}`);
          resolve();
        });
        xhr.addEventListener("error", () => {
          this.failed(batch, 0, "the connection to the gallery was lost");
          resolve();
        });
        xhr.send(data);
      });
    }

    note(file, text) {
      if (!file.done) file.row.lastChild.textContent = text;
    }

    apply(batch, report) {
      batch.forEach((file, index) => this.finish(file, report.items.filter((item) => item.file_index === index)));
      report.studies.forEach((study) => this.studies.set(study.id, study));
      if (report.interrupted) this.stopReason = NOT_SENT_ORTHANC;
      this.show();
    }

    failed(batch, status, message) {
      // A 4xx answer comes before anything is stored; otherwise the server may have stored part of the batch.
      const reason = status >= 400 && status < 500
        ? `not stored: ${message}`
        : `may not have been stored: ${message}; try again (a file already stored is then reported as such)`;
      batch.forEach((file) => this.finish(file, [{ file: file.name, entry: "", size: file.size,
        outcome: "rejected", reason }]));
      this.stopReason = `not sent: the upload stopped after an earlier error (${message})`;
      this.show();
    }

    notSent(batch) {
      batch.forEach((file) => this.finish(file, [{ file: file.name, entry: "", size: file.size,
        outcome: "rejected", reason: this.stopReason }]));
      this.show();
    }

    finish(file, items) {
      if (!items.length) {
        items = [{ file: file.name, entry: "", size: file.size, outcome: "rejected",
          reason: "the server did not report on this file; send it again" }];
      }
      file.done = true;
      file.sent = file.size;
      items.forEach((item) => {
        this.counts[item.outcome] += 1;
        this.items += 1;
      });
      if (file.row) file.row.replaceWith(...items.map(itemRow));
      else ui.rows.append(...items.map(itemRow));
    }

    show() {
      const sent = this.files.reduce((sum, f) => sum + (f.done ? f.size : 0.95 * f.sent), 0);
      const done = this.files.filter((f) => f.done).length;
      ui.bar.max = Math.max(this.total, 1);
      ui.bar.value = this.total ? sent : done ? 1 : 0;
      ui.status.textContent = `${done} of ${this.files.length} chosen file${this.files.length === 1 ? "" : "s"} done · `
        + `${humanSize(Math.round(Math.min(sent, this.total)))} of ${humanSize(this.total)}`;
      ui.counts.replaceChildren(countsLine(this.counts, this.items));
      if (done > this.announcedDone) {
        this.announcedDone = done;
        announce(announcer?.dataset.announceProgress, { done, count: this.files.length });
      }
    }

    report() {
      ui.title.textContent = this.stopReason ? "Upload stopped" : "Upload finished";
      ui.bar.value = ui.bar.max;
      const result = this.stopReason ? announcer?.dataset.announceStopped : announcer?.dataset.announceFinished;
      announce(result, this.counts, true);
      const zipNote = this.items !== this.files.length ? " Each file inside a ZIP counts as one file here." : "";
      ui.status.textContent = `You sent ${this.files.length} file${this.files.length === 1 ? "" : "s"}.${zipNote}`;
      if (this.stopReason) {
        ui.status.after(element("p", { class: "flash flash--error", role: "alert" },
          "The upload stopped part-way. The files marked Stored are in Orthanc; send the others again ",
          "(files already in Orthanc are then reported as already stored)."));
      }
      if (this.studies.size) {
        ui.studies.replaceChildren(element("h2", {}, `Studies (${this.studies.size})`),
          element("ul", { class: "grid" }, ...Array.from(this.studies.values(), studyCard)));
      }
    }
  }

  function warnBeforeLeaving(event) {
    event.preventDefault();
    event.returnValue = "";
  }

  async function start(files) {
    if (running) {
      ui.status.textContent = "An upload is running: wait for it to finish, then send more.";
      return;
    }
    if (!files.length) {
      ui.status.textContent = "";
      run.hidden = true;
      form.querySelector("[data-pick-error]")?.remove();
      form.prepend(element("p", { class: "flash flash--error", role: "alert", "data-pick-error": "" },
        "Choose at least one file, folder or ZIP archive to upload."));
      return;
    }
    running = true;
    form.querySelector("[data-pick-error]")?.remove();
    form.querySelector("[type=submit]").disabled = true;
    run.hidden = false;
    run.dataset.state = "running";
    run.querySelectorAll(".flash").forEach((node) => node.remove());
    ui.title.textContent = "Uploading…";
    ui.rows.replaceChildren();
    ui.studies.replaceChildren();
    window.addEventListener("beforeunload", warnBeforeLeaving);
    const upload = new Upload(files);
    announce(announcer?.dataset.announceStart, { count: files.length }, true);
    upload.show();
    try {
      await upload.start();
    } finally {
      upload.report();
      window.removeEventListener("beforeunload", warnBeforeLeaving);
      form.reset();
      form.querySelector("[type=submit]").disabled = false;
      running = false;
      run.dataset.state = "done";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start(fromInputs());
  });

  // Drop anywhere on the page.
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  let depth = 0;
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    depth += 1;
    document.body.classList.add("upload-dragging");
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) document.body.classList.remove("upload-dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("drop", async (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    document.body.classList.remove("upload-dragging");
    start(await fromDrop(event.dataTransfer));
  });
  form.querySelector("[data-drop-hint]").hidden = false;
})();
