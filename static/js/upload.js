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
  const MESSAGES = JSON.parse(form.dataset.messages || "{}"); // the page's language (gallery/blueprints/upload/messages.py)
  const LABELS = Object.fromEntries(MESSAGES.outcomes); // in the report's order: stored, already stored, ...
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

  // `template` as parts, each `{name}` replaced by `values[name]` (text or a node) where given.
  function parts(template, values) {
    return template.split(/(\{\w+\})/).filter(Boolean).map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      return name && name in values ? values[name] : part;
    });
  }

  // The live region (role=status): its messages come from the page, so they are translated with it.
  const announcer = document.querySelector("[data-run-announce]");
  const ANNOUNCE_EVERY_MS = 3000; // progress at most this often, so a screen reader is not flooded
  let announcedAt = 0;
  // A message from the page with its {placeholders} filled in.
  const fill = (message, values) => parts(message || "", values).join("");
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

  // A message in the page's language as parts: `{name}` filled from `values` (text or nodes); a [one, many]
  // pair is chosen by `count`.
  function say(key, values = {}, count = null) {
    const template = MESSAGES[key];
    return parts(Array.isArray(template) ? template[count === 1 ? 0 : 1] : template, values);
  }
  const text = (key, values, count) => say(key, values, count).join("");

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

  // -- the report, built as the server's report page is ------------------------------------------

  function countsLine(counts, total) {
    const line = element("p", { class: "upload-counts" });
    line.append(element("span", { class: "upload-count upload-count--total" },
      ...say("files", { n: element("strong", {}, String(total)) }, total)));
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
      element("td", { class: "muted" }, text("waiting")));
  }

  function itemRow(item) {
    const name = element("td", { class: "upload-table__name" }, item.file);
    if (item.entry) name.append(" ", element("span", { class: "muted" }, "›"), " ", item.entry);
    const details = element("td");
    if (item.study_url) {
      const links = [[text("patient"), item.patient_url], [text("study"), item.study_url],
        [text("series"), item.series_url], [text("image"), item.instance_url]];
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
      : element("span", { class: "thumb thumb--none" }, text("no_image"));
    const chips = study.modalities.map((m) => element("abbr", { class: "chip" }, m));
    return element("li", { class: "card" },
      element("a", { class: "card__link", href: study.url }, thumb,
        element("span", { class: "card__title" }, study.description || text("no_description"))),
      element("p", { class: "card__meta" }, `${study.date || text("no_date")} `, ...chips),
      element("dl", { class: "card__facts" },
        element("div", {}, element("dt", {}, text("patient")), element("dd", {},
          element("a", { href: study.patient_url }, study.patient_name || study.patient_id || text("no_name")))),
        element("div", {}, element("dt", {}, text("series")), element("dd", {}, String(study.series_count)))));
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
          const reason = file.error || text("too_large", { limit: humanSize(maxBytes) });
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
          if (xhr.status === 200 && xhr.response && xhr.response.report) this.apply(batch, xhr.response.report);
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

    note(file, text) {
      if (!file.done) file.row.lastChild.textContent = text;
    }

    apply(batch, report) {
      batch.forEach((file, index) => this.finish(file, report.items.filter((item) => item.file_index === index)));
      report.studies.forEach((study) => this.studies.set(study.id, study));
      if (report.interrupted) this.stopReason = text("orthanc_unavailable");
      this.show();
    }

    failed(batch, status, message) {
      // A 4xx answer comes before anything is stored; otherwise the server may have stored part of the batch.
      const reason = status >= 400 && status < 500
        ? text("not_stored", { reason: message })
        : text("maybe_stored", { reason: message });
      batch.forEach((file) => this.finish(file, [{ file: file.name, entry: "", size: file.size,
        outcome: "rejected", reason }]));
      this.stopReason = text("stopped_after_error", { reason: message });
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
          reason: text("no_report") }];
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
      ui.status.textContent = text("progress", { done, total: this.files.length,
        sent: humanSize(Math.round(Math.min(sent, this.total))), size: humanSize(this.total) }, this.files.length);
      ui.counts.replaceChildren(countsLine(this.counts, this.items));
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
      const zipNote = this.items !== this.files.length ? ` ${text("zip_note")}` : "";
      ui.status.textContent = text("you_sent", { n: this.files.length }, this.files.length) + zipNote;
      if (this.stopReason) {
        ui.status.after(element("p", { class: "flash flash--error", role: "alert" }, text("stopped_part_way")));
      }
      if (this.studies.size) {
        ui.studies.replaceChildren(element("h2", {}, text("studies", { n: this.studies.size })),
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
      ui.status.textContent = text("running");
      return;
    }
    if (!files.length) {
      ui.status.textContent = "";
      run.hidden = true;
      form.querySelector("[data-pick-error]")?.remove();
      form.prepend(element("p", { class: "flash flash--error", role: "alert", "data-pick-error": "" },
        text("nothing_chosen")));
      return;
    }
    running = true;
    form.querySelector("[data-pick-error]")?.remove();
    form.querySelector("[type=submit]").disabled = true;
    run.hidden = false;
    run.dataset.state = "running";
    run.querySelectorAll(".flash").forEach((node) => node.remove());
    ui.title.textContent = text("uploading");
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
