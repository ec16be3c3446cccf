// Orthanc Gallery upload page: drag and drop (files and folders), progress per file and overall,
// running counts, and the report without a page reload. Without this file the form posts as usual
// and the server answers with the report page; with it, the same endpoint gets the same form fields
// (and CSRF token) in small batches, answered as JSON that carries the report's rows and study cards
// rendered by the server (gallery/blueprints/upload/report.py). This script inserts that HTML as it is, and
// fills numbers and words from the page into the markup the page holds: it builds no report markup.
"use strict";

(() => {
  const form = document.querySelector("[data-upload-form]");
  const run = document.querySelector("[data-upload-run]");
  if (!form || !run || !window.FormData || !window.XMLHttpRequest) return;

  const BATCH_BYTES = 8 * 1024 * 1024; // small files travel together, up to this many bytes...
  const BATCH_FILES = 32; // ...or this many files per request
  const PARALLEL = 2; // requests at once: one uploads while the server stores the other
  const MESSAGES = JSON.parse(form.dataset.messages || "{}"); // the page's language (gallery/blueprints/upload/messages.py)
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  const batchCap = Math.min(BATCH_BYTES, maxBytes * 0.9); // a batch must stay under the server's limit
  const reportUrl = new URL(form.action);
  reportUrl.searchParams.set("include", "html"); // the JSON answer then carries the report's rows and cards
  const $ = (selector) => run.querySelector(selector);
  const ui = {
    title: $("[data-run-title]"),
    bar: $("[data-run-bar]"),
    status: $("[data-run-status]"),
    stopped: $("[data-run-stopped]"),
    counts: $("[data-run-counts]"),
    studies: $("[data-run-studies]"),
    studiesTitle: $("[data-run-studies-title]"),
    cards: $("[data-run-cards]"),
    rows: $("[data-run-rows]"),
    pendingRow: $("[data-pending-row]"),
    rejectedRow: $("[data-rejected-row]"),
  };
  let running = false;

  // The live region (role=status): its messages come from the page, so they are translated with it.
  const announcer = document.querySelector("[data-run-announce]");
  const ANNOUNCE_EVERY_MS = 3000; // progress at most this often, so a screen reader is not flooded
  let announcedAt = 0;
  // A message from the page with its {placeholders} filled in.
  const fill = (message, values) =>
    (message || "").replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
  function announce(message, values, always = false) {
    if (!announcer || !message || (!always && Date.now() - announcedAt < ANNOUNCE_EVERY_MS)) return;
    announcedAt = Date.now();
    announcer.textContent = fill(message, values);
  }

  // Sizes of files the server has not seen yet (pending rows, progress), as gallery.formatting.file_size
  // writes them, with the page language's digits.
  const language = document.documentElement.lang || "en";
  const decimal = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
  const number = new Intl.NumberFormat(language); // counts in words, as Flask-Babel's ngettext writes them
  function humanSize(size) {
    let value = size;
    for (const unit of ["B", "KB", "MB", "GB"]) {
      if (value < 1024) return unit === "B" ? `${Math.round(value)} B` : `${decimal.format(value)} ${unit}`;
      value /= 1024;
    }
    return `${decimal.format(value)} TB`;
  }

  // A message in the page's language, `{name}` filled from `values`; a [one, many] pair is chosen by `count`.
  function text(key, values = {}, count = null) {
    const template = MESSAGES[key];
    return fill(Array.isArray(template) ? template[count === 1 ? 0 : 1] : template, values);
  }

  // Server-rendered HTML as nodes.
  function nodes(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    return Array.from(holder.content.childNodes);
  }

  // A row from one of the page's row templates, with the name, size and last cell filled in.
  function rowFrom(template, name, size, last) {
    const row = template.content.querySelector("tr").cloneNode(true);
    row.querySelector(".upload-table__name").textContent = name;
    row.querySelector(".upload-table__size").textContent = size === null ? "—" : humanSize(size);
    if (last !== null) row.lastElementChild.textContent = last;
    return row;
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
        out.push({ name, size: 0, sent: 0, done: false, row: null, error: text("unreadable") });
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

  // -- one upload: batches of files, sent PARALLEL at a time ---------------------------------------

  class Upload {
    constructor(files) {
      this.files = files;
      this.total = files.reduce((sum, f) => sum + f.size, 0);
      this.counts = { stored: 0, already_stored: 0, rejected: 0, skipped: 0 };
      this.items = 0;
      this.archives = 0;
      this.cards = new Map(); // study ID → [its card, the position of the first chosen file in it]
      this.stopReason = "";
      this.announcedDone = 0;
    }

    batches() {
      const batches = [];
      let batch = [];
      let bytes = 0;
      for (const file of this.files) {
        if (file.error || file.size > maxBytes) {
          this.reject(file, file.error || text("too_large"));
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
      this.files.forEach((file, position) => {
        file.position = position;
        file.row = rowFrom(ui.pendingRow, file.name, file.size, null);
        const progress = file.row.querySelector("progress");
        progress.max = Math.max(file.size, 1);
        progress.setAttribute("aria-label", file.name);
        ui.rows.append(file.row);
      });
      const queue = this.batches();
      const worker = async () => {
        for (let batch = queue.shift(); batch; batch = queue.shift()) {
          if (this.stopReason) batch.forEach((file) => this.reject(file, this.stopReason));
          else await this.send(batch);
          this.show();
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      this.show();
    }

    send(batch) {
      return new Promise((resolve) => {
        const data = new FormData();
        data.append("csrf_token", form.elements.csrf_token.value);
        batch.forEach((file) => data.append(file.field, file.file, file.name));
        const batchBytes = batch.reduce((sum, f) => sum + f.size, 0);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", reportUrl);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.responseType = "json";
        batch.forEach((file) => this.note(file, text("sending")));
        xhr.upload.addEventListener("progress", (event) => {
          if (!event.lengthComputable) return;
          let offset = (event.loaded / event.total) * batchBytes; // multipart overhead spread evenly
          for (const file of batch) {
            file.sent = Math.max(0, Math.min(file.size, offset));
            offset -= file.size;
            file.row.querySelector("progress")?.setAttribute("value", String(file.sent));
            this.note(file, text(file.sent >= file.size ? "sent" : "sending"));
          }
          this.show();
        });
        xhr.upload.addEventListener("load", () => batch.forEach((file) => this.note(file, text("storing"))));
        xhr.addEventListener("load", () => {
          if (xhr.status === 200 && xhr.response?.report && xhr.response.html) this.apply(batch, xhr.response);
          else this.failed(batch, xhr.status, xhr.response?.error?.message || text("server_answered", { status: xhr.status }));
          resolve();
        });
        xhr.addEventListener("error", () => {
          this.failed(batch, 0, text("connection_lost"));
          resolve();
        });
        xhr.send(data);
      });
    }

    note(file, words) {
      if (!file.done) file.row.lastElementChild.textContent = words;
    }

    // A batch's answer: its rows and study cards as the server rendered them, and its counts.
    apply(batch, { report, html }) {
      batch.forEach((file, index) => {
        if (html.rows[index]) this.place(file, nodes(html.rows[index]));
        else this.reject(file, text("no_report"));
      });
      for (const [key, n] of Object.entries(report.counts)) this.counts[key] += n;
      this.items += report.total;
      this.archives += report.archives;
      const landed = new Map(); // study ID → the position of the first chosen file of this batch in it
      report.items.forEach((item) => landed.has(item.study) || landed.set(item.study, batch[item.file_index].position));
      html.studies.forEach((study) => {
        const card = nodes(study.html).find((node) => node.nodeType === Node.ELEMENT_NODE);
        const known = this.cards.get(study.id);
        if (known) known[0].replaceWith(card); // a later batch's card counts the study's later files too
        else ui.cards.append(card);
        this.cards.set(study.id, [card, Math.min(known?.[1] ?? Infinity, landed.get(study.id) ?? Infinity)]);
      });
      if (report.interrupted) this.stopReason = text("orthanc_unavailable");
    }

    failed(batch, status, message) {
      // A 4xx answer comes before anything is stored; otherwise the server may have stored part of the batch.
      const reason = status >= 400 && status < 500
        ? text("not_stored", { reason: message })
        : text("maybe_stored", { reason: message });
      batch.forEach((file) => this.reject(file, reason));
      this.stopReason = text("stopped_after_error", { reason: message });
    }

    // A file the server did not report on: one rejected row with the reason, from the page's row template.
    reject(file, reason) {
      this.counts.rejected += 1;
      this.items += 1;
      this.place(file, [rowFrom(ui.rejectedRow, file.name, file.size, reason)]);
    }

    place(file, rows) {
      file.done = true;
      file.sent = file.size;
      if (file.row) file.row.replaceWith(...rows);
      else ui.rows.append(...rows);
    }

    show() {
      const sent = this.files.reduce((sum, f) => sum + (f.done ? f.size : 0.95 * f.sent), 0);
      const done = this.files.filter((f) => f.done).length;
      ui.bar.max = Math.max(this.total, 1);
      ui.bar.value = this.total ? sent : done ? 1 : 0;
      ui.status.textContent = text("progress", { done, total: this.files.length,
        sent: humanSize(Math.round(Math.min(sent, this.total))), size: humanSize(this.total) }, this.files.length);
      // The counts line is the report page's (gallery's counts_line macro); only its numbers change here.
      ui.counts.querySelector(".upload-count--total").innerHTML = text("files", { n: number.format(this.items) }, this.items);
      for (const [key, n] of Object.entries(this.counts)) {
        ui.counts.querySelector(`.upload-count--${key} strong`).textContent = String(n);
      }
      if (done > this.announcedDone) {
        this.announcedDone = done;
        announce(announcer?.dataset.announceProgress, { done, count: this.files.length });
      }
    }

    report() {
      ui.title.textContent = text(this.stopReason ? "upload_stopped" : "upload_finished");
      ui.bar.value = ui.bar.max;
      const result = this.stopReason ? announcer?.dataset.announceStopped : announcer?.dataset.announceFinished;
      announce(result, this.counts, true);
      const files = this.files.length;
      ui.status.textContent = text("you_sent", { n: number.format(files) }, files)
        + (this.archives ? ` ${text("archives", { n: number.format(this.archives) }, this.archives)}` : "");
      ui.stopped.hidden = !this.stopReason;
      if (this.cards.size) {
        // In the order of the chosen files, as the report page lists them, whichever batch answered first.
        ui.cards.append(...Array.from(this.cards.values()).sort((a, b) => a[1] - b[1]).map(([card]) => card));
        ui.studiesTitle.textContent = text("studies", { n: this.cards.size });
        ui.studies.hidden = false;
      }
    }
  }

  function warnBeforeLeaving(event) {
    event.preventDefault();
    event.returnValue = "";
  }

  async function start(files) {
    if (running) {
      ui.status.textContent = text("running");
      return;
    }
    if (!files.length) {
      ui.status.textContent = "";
      run.hidden = true;
      form.querySelector("[data-pick-error]")?.remove();
      const error = document.createElement("p");
      error.className = "flash flash--error";
      error.setAttribute("role", "alert");
      error.dataset.pickError = "";
      error.textContent = text("nothing_chosen");
      form.prepend(error);
      return;
    }
    running = true;
    form.querySelector("[data-pick-error]")?.remove();
    form.querySelector("[type=submit]").disabled = true;
    run.hidden = false;
    run.dataset.state = "running";
    ui.stopped.hidden = true;
    ui.studies.hidden = true;
    ui.title.textContent = text("uploading");
    ui.rows.replaceChildren();
    ui.cards.replaceChildren();
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
