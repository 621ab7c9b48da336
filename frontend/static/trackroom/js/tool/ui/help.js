// The "?" overlay: every keyboard shortcut of the tool.

export const SHORTCUTS = [
  ["Frames", [
    ["← / →", "previous / next frame"], ["Shift+← / Shift+→", "10 frames back / forward"],
    ["Home / End", "first / last frame"], ["Space", "play / pause at the video's frame rate"],
    ["frame box + Enter", "go to a frame"],
  ]],
  ["View", [
    ["wheel", "zoom at the cursor"], ["drag", "pan (on empty space, or with the middle / right button)"],
    ["F", "fit to window"], ["+ / −", "zoom in / out"],
  ]],
  ["Drawing", [
    ["N", "draw a new object with the current class"], ["1 … 9", "current class for new objects"],
    ["Esc", "cancel drawing / deselect"], ["Enter / double-click", "close a polygon; finish a skeleton; save a mask"],
    ["Backspace", "remove the last polygon point or keypoint while drawing"],
    ["B / E / P", "mask: brush / eraser / polygon into the mask"], ["[ / ]", "mask: smaller / bigger brush"],
  ]],
  ["Editing the selected object", [
    ["click", "select; drag to move; drag a handle, vertex or keypoint to reshape"],
    ["Tab / Shift+Tab", "next / previous object on this frame"],
    ["Del", "delete its shape on this frame"], ["Shift+Del", "delete the whole track"],
    ["Shift+1 … 9", "change its class"], ["K", "keyframe on / off"], ["O", "outside (left the scene) on / off"],
    ["V", "keypoint visibility: visible → occluded → absent"], ["H / L", "hide / lock it"],
    ["Ctrl+Z", "undo"], ["Ctrl+Shift+Z / Ctrl+Y", "redo"],
  ]],
  ["", [["?", "this help"]]],
];

export function mountHelp(container, sections) {
  const box = document.createElement("div");
  box.className = "help-box";
  const title = document.createElement("h2");
  title.textContent = "Keyboard shortcuts";
  const close = document.createElement("button");
  close.className = "help-close";
  close.textContent = "×";
  close.title = "Close (Esc)";
  box.append(close, title);
  const grid = document.createElement("div");
  grid.className = "help-grid";
  for (const [name, rows] of sections) {
    const sec = document.createElement("section");
    if (name) {
      const h = document.createElement("h3");
      h.textContent = name;
      sec.append(h);
    }
    const table = document.createElement("table");
    for (const [keys, what] of rows) {
      const tr = table.insertRow();
      const k = tr.insertCell();
      k.className = "keys";
      keys.split(" / ").forEach((part, i) => {
        if (i) k.append(" / ");
        const kbd = document.createElement("kbd");
        kbd.textContent = part;
        k.append(kbd);
      });
      tr.insertCell().textContent = what;
    }
    sec.append(table);
    grid.append(sec);
  }
  box.append(grid);
  container.append(box);
  const api = {
    get hidden() { return container.hidden; },
    show() { container.hidden = false; },
    hide() { container.hidden = true; },
    toggle() { container.hidden = !container.hidden; },
  };
  close.addEventListener("click", () => api.hide());
  container.addEventListener("click", (e) => { if (e.target === container) api.hide(); });
  document.getElementById("help-button")?.addEventListener("click", () => api.toggle());
  return api;
}
