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

  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", fit);
  window.addEventListener("hashchange", () => show(parseInt(location.hash.slice(1), 10) - 1 || 0));
  fit();
  show(parseInt(location.hash.slice(1), 10) - 1 || 0);
})();
