// Keyboard navigation, speaker notes and a speaker window for the decks built by build.py.
// Everything lives in this one inlined file so that a built deck works offline from file://.
(function () {
  "use strict";
  const SLIDE_WIDTH = 1280;  // the smallest size slides are laid out at; slides.css's defaults
  const SLIDE_HEIGHT = 720;
  const NOTES_SHARE = 0.5;  // with notes shown under the slide, the slide gets this share of the height

  const slides = Array.from(document.querySelectorAll("#deck > .slide"));
  const counter = document.createElement("div");
  counter.className = "slide-number";
  document.body.appendChild(counter);
  const notesPanel = document.createElement("div");  // what `n` shows under the slide
  notesPanel.id = "notes-panel";
  document.body.appendChild(notesPanel);
  let current = 0;
  let speaker = null;  // the speaker window, while it is open
  let speakerStart = null;

  function slideTitle(slide) {
    const heading = slide && slide.querySelector("h1, h2");
    return heading ? heading.textContent : "(end)";
  }

  function notesHtml(slide) {
    const notes = slide.querySelector(".notes");
    return notes ? notes.innerHTML : "<p><em>No notes for this slide.</em></p>";
  }

  // The slide fills the window (or, with notes shown, the share of it above the notes): it is laid out at
  // 1280x720 or larger in the window's proportions, then scaled. A 4:3 screen gets a taller slide, not bands.
  function fit() {
    const notesShown = document.body.classList.contains("show-notes");
    const width = window.innerWidth;
    const height = notesShown ? Math.round(window.innerHeight * NOTES_SHARE) : window.innerHeight;
    const scale = Math.min(width / SLIDE_WIDTH, height / SLIDE_HEIGHT);
    const root = document.documentElement.style;
    root.setProperty("--scale", scale);
    root.setProperty("--slide-width", `${width / scale}px`);
    root.setProperty("--slide-height", `${height / scale}px`);
    root.setProperty("--notes-top", `${height}px`);
    if (slides[current]) layoutFigure(slides[current]);
  }

  // A slide's figure is scaled to the largest size the space under the title allows (larger than its file, if
  // need be), and the figure with the text under it is centred in that space: on a 4:3 screen a wide figure
  // leaves room above and below, and the text stays right under the figure.
  function layoutFigure(slide) {
    const img = slide.querySelector(":scope > p > img:only-child");
    if (!img) return;
    const box = img.parentElement;
    box.style.flex = "";
    img.style.width = img.style.height = "";
    const blocks = Array.from(slide.children).filter((el) => el.getClientRects().length > 0);
    blocks.forEach((el) => { el.style.marginTop = el.style.marginBottom = ""; });
    if (!img.naturalWidth) return;
    const scale = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--scale")) || 1;
    const room = box.getBoundingClientRect();
    const fits = Math.min(room.width / scale / img.naturalWidth, room.height / scale / img.naturalHeight);
    img.style.width = `${img.naturalWidth * fits}px`;
    img.style.height = `${img.naturalHeight * fits}px`;
    box.style.flex = `0 0 ${img.naturalHeight * fits}px`;
    const after = blocks.slice(blocks.indexOf(box));
    if (!after.some((el) => el.classList.contains("takeaway"))) {  // a takeaway already sits at the bottom
      after[0].style.marginTop = "auto";
      after[after.length - 1].style.marginBottom = "auto";
    }
  }

  function show(index) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    slides.forEach((slide, i) => slide.classList.toggle("current", i === current));
    layoutFigure(slides[current]);
    counter.textContent = `${current + 1} / ${slides.length}`;
    notesPanel.innerHTML = notesHtml(slides[current]);
    notesPanel.scrollTop = 0;
    // The hash keeps the place across a reload, and lets a runbook link to a slide: deck.html#7.
    history.replaceState(null, "", `#${current + 1}`);
    updateSpeaker();
  }

  function updateSpeaker() {
    if (!speaker || speaker.closed) return;
    const doc = speaker.document;
    doc.getElementById("counter").textContent = `slide ${current + 1} of ${slides.length}`;
    doc.getElementById("title").textContent = slideTitle(slides[current]);
    doc.getElementById("notes").innerHTML = notesHtml(slides[current]);
    doc.getElementById("next").textContent = "next: " + slideTitle(slides[current + 1]);
  }

  function tick() {
    if (!speaker || speaker.closed) return;
    const seconds = Math.floor((Date.now() - speakerStart) / 1000);
    const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    speaker.document.getElementById("timer").textContent = clock;
    setTimeout(tick, 1000);
  }

  // The speaker window starts as about:blank, which shares this page's origin even on file://,
  // so this page can write into it and hear its keys without any messaging.
  function openSpeaker() {
    if (speaker && !speaker.closed) { speaker.focus(); return; }
    speaker = window.open("", "speaker-notes", "width=900,height=700");
    if (!speaker) { alert("The browser blocked the speaker window: allow pop-ups for this file."); return; }
    speaker.document.write(`<!DOCTYPE html><title>Speaker notes</title>
      <body style="font-family: 'DejaVu Sans', Arial, sans-serif; margin: 24px; font-size: 24px;">
      <div style="display: flex; justify-content: space-between; color: #777;">
        <span id="counter"></span><span id="timer" title="click to restart" style="cursor: pointer;">0:00</span></div>
      <h2 id="title" style="color: #1565c0;"></h2><div id="notes"></div>
      <p id="next" style="color: #777; border-top: 1px solid #ddd; padding-top: 12px;"></p></body>`);
    speaker.document.close();
    speaker.document.addEventListener("keydown", onKey);
    speakerStart = Date.now();
    speaker.document.getElementById("timer").addEventListener("click", () => { speakerStart = Date.now(); });
    updateSpeaker();
    tick();
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    switch (event.key) {
      case "ArrowRight": case "ArrowDown": case "PageDown": case " ": case "Enter":
        show(current + 1); break;
      case "ArrowLeft": case "ArrowUp": case "PageUp": case "Backspace":
        show(current - 1); break;
      case "Home": show(0); break;
      case "End": show(slides.length - 1); break;
      case "n": document.body.classList.toggle("show-notes"); fit(); break;
      case "s": openSpeaker(); break;
      case "f": document.documentElement.requestFullscreen(); break;
      default: return;
    }
    event.preventDefault();
  }

  // Audit mode, for tests/test_presentation.py: deck.html?audit shows every slide in turn and writes what it
  // measured into the page as JSON (read back with chromium --dump-dom): the smallest text, anything outside
  // the slide, blocks that overlap, the size each figure is drawn at, and whether the slide's notes fit in the
  // notes panel. Text sizes are in the slide's own CSS pixels; `scale` turns them into screen pixels. Figure
  // sizes are in screen pixels.
  function audit() {
    const result = { window: [window.innerWidth, window.innerHeight], slides: [] };
    const visible = (el) => !el.closest(".notes") && el.getClientRects().length > 0;
    const snippet = (el) => (el.textContent || el.tagName).trim().slice(0, 60);
    slides.forEach((slide, index) => {
      show(index);
      const box = slide.getBoundingClientRect();
      const scale = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--scale"));
      const found = { number: index + 1, title: slideTitle(slide), divider: slide.classList.contains("title-slide")
        || slide.classList.contains("deck-title"), notes: !!slide.querySelector(".notes"), smallestText: null,
        outside: [], overlaps: [], images: [] };
      slide.querySelectorAll("*").forEach((el) => {
        if (!visible(el)) return;
        const r = el.getBoundingClientRect();
        if (r.left < box.left - 1 || r.top < box.top - 1 || r.right > box.right + 1 || r.bottom > box.bottom + 1) {
          found.outside.push(snippet(el));
        }
        const ownText = Array.from(el.childNodes).some((node) => node.nodeType === 3 && node.textContent.trim());
        if (ownText) {
          const px = parseFloat(getComputedStyle(el).fontSize);
          if (!found.smallestText || px < found.smallestText.px) found.smallestText = { px: px, text: snippet(el) };
        }
        if (el.tagName === "IMG") {
          found.images.push({ natural: [el.naturalWidth, el.naturalHeight], drawn: [r.width, r.height] });
        }
      });
      found.scale = scale;
      found.size = [box.width / scale, box.height / scale];
      const blocks = Array.from(slide.children).filter(visible).map((el) => [el, el.getBoundingClientRect()]);
      blocks.forEach(([a, ra], i) => blocks.slice(i + 1).forEach(([b, rb]) => {
        const width = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const height = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (width > 2 && height > 2) found.overlaps.push([snippet(a), snippet(b)]);
      }));
      document.body.classList.add("show-notes");
      fit();
      found.notesFit = notesPanel.scrollHeight <= notesPanel.clientHeight + 1;
      found.notesHeight = [notesPanel.scrollHeight, notesPanel.clientHeight];
      document.body.classList.remove("show-notes");
      fit();
      result.slides.push(found);
    });
    const out = document.createElement("pre");
    out.id = "audit-result";
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  }

  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", fit);
  slides.forEach((slide) => slide.querySelectorAll("img").forEach((img) => img.addEventListener("load", () => {
    if (slide === slides[current]) layoutFigure(slide);
  })));
  if (new URLSearchParams(location.search).has("audit")) window.addEventListener("load", audit);
  window.addEventListener("hashchange", () => show(parseInt(location.hash.slice(1), 10) - 1 || 0));
  fit();
  show(parseInt(location.hash.slice(1), 10) - 1 || 0);
})();
