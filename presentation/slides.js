// Keyboard navigation, speaker notes and a speaker window for the decks built by build.py.
// Everything lives in this one inlined file so that a built deck works offline from file://.
(function () {
  "use strict";
  const SLIDE_WIDTH = 1280;  // the size slides.css lays slides out at
  const SLIDE_HEIGHT = 720;
  const NOTES_SHARE = 0.7;  // with notes shown under the slide, the slide gets this share of the height

  const slides = Array.from(document.querySelectorAll("#deck > .slide"));
  const counter = document.createElement("div");
  counter.className = "slide-number";
  document.body.appendChild(counter);
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

  function fit() {
    const notesShown = document.body.classList.contains("show-notes");
    const height = notesShown ? window.innerHeight * NOTES_SHARE : window.innerHeight;
    const scale = Math.min(window.innerWidth / SLIDE_WIDTH, height / SLIDE_HEIGHT);
    document.documentElement.style.setProperty("--scale", scale);
  }

  function show(index) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    slides.forEach((slide, i) => slide.classList.toggle("current", i === current));
    counter.textContent = `${current + 1} / ${slides.length}`;
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
  // the slide, blocks that overlap, and the size each figure is drawn at. Sizes are in the slide's own
  // 1280x720 pixels, whatever the window: a screen of another size scales the whole slide by --scale.
  function audit() {
    const result = { slideSize: [SLIDE_WIDTH, SLIDE_HEIGHT], slides: [] };
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
          found.images.push({ natural: [el.naturalWidth, el.naturalHeight], drawn: [r.width / scale, r.height / scale] });
        }
      });
      const blocks = Array.from(slide.children).filter(visible).map((el) => [el, el.getBoundingClientRect()]);
      blocks.forEach(([a, ra], i) => blocks.slice(i + 1).forEach(([b, rb]) => {
        const width = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const height = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (width > 2 && height > 2) found.overlaps.push([snippet(a), snippet(b)]);
      }));
      result.slides.push(found);
    });
    const out = document.createElement("pre");
    out.id = "audit-result";
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  }

  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", fit);
  if (new URLSearchParams(location.search).has("audit")) window.addEventListener("load", audit);
  window.addEventListener("hashchange", () => show(parseInt(location.hash.slice(1), 10) - 1 || 0));
  fit();
  show(parseInt(location.hash.slice(1), 10) - 1 || 0);
})();
