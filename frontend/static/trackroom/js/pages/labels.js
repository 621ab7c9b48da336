// Labels tab: label classes with colour swatch and shape kind; create / edit / delete (manager+);
// a skeleton editor for points labels (keypoint names, one per line, and edges by name or index).

import { call, clear, confirmDialog, getAll, h, openDialog, showError, toast } from "./ui.js";

const SHAPES = [
  ["box", "Bounding box"],
  ["polygon", "Polygon"],
  ["mask", "Mask"],
  ["points", "Points / skeleton"],
];
const SHAPE_NAME = Object.fromEntries(SHAPES);

// COCO's 17 person keypoints and limbs: what the bundled pose model finds.
const COCO_KEYPOINTS = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
  "left_ankle", "right_ankle"];
const COCO_EDGES = [[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8], [7, 9],
  [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6]];
const PALETTE = ["#ff6b00", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#17becf", "#e377c2", "#bcbd22", "#8c564b"];

export function mountLabels(ctx, panel) {
  const table = h("table", { class: "table", testid: "labels-table" });
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "labels-error" });
  let labels = [];
  panel.append(h("div", { class: "section-head" }, h("h2", {}, "Label classes")));
  if (ctx.canManage) {
    const form = labelForm(null, async (body, formError, reset) => {
      try {
        const created = await call("POST", `/api/projects/${ctx.projectId}/labels/`, { json: body });
        toast(`Added label ${created.name}.`);
        reset(PALETTE[(labels.length + 1) % PALETTE.length]);
        await load();
      } catch (err) {
        showError(formError, err);
      }
    }, PALETTE[0]);
    panel.append(h("div", { class: "panel" }, h("h3", {}, "New label"), form));
  }
  panel.append(error, table);

  async function load() {
    try {
      labels = await getAll(`/api/projects/${ctx.projectId}/labels/`);
      showError(error, null);
      render();
    } catch (err) {
      showError(error, err, "The label list");
    }
  }

  function render() {
    clear(table);
    table.append(h("thead", {}, h("tr", {}, ["", "Name", "Shape", "Skeleton", "Attributes", ""].map((t) => h("th", {}, t)))));
    const tbody = h("tbody");
    if (!labels.length) {
      tbody.append(h("tr", {}, h("td", { colspan: "6", class: "muted empty-cell", testid: "labels-empty" },
        "No label classes yet. Tracking jobs store each detector class under the label of the same name (e.g. person).")));
    }
    for (const label of labels) {
      tbody.append(h("tr", { testid: "label-row", dataset: { labelId: String(label.id), name: label.name } },
        h("td", {}, h("span", { class: "swatch", testid: "label-swatch", style: { background: label.color },
          title: label.color })),
        h("td", { testid: "label-name" }, label.name),
        h("td", { testid: "label-shape" }, SHAPE_NAME[label.shape] || label.shape),
        h("td", { class: "small" }, skeletonSummary(label)),
        h("td", { class: "small" }, (label.attributes || []).map((a) => a.name).join(", ")),
        h("td", { class: "row-actions" }, ctx.canManage ? [
          h("button", { class: "btn btn-small", type: "button", testid: "label-edit", onclick: () => editDialog(label) }, "Edit"),
          h("button", { class: "btn btn-small btn-danger-outline", type: "button", testid: "label-delete",
            onclick: async () => {
              if (!await confirmDialog(`Delete the label "${label.name}"? Its tracks are deleted with it.`)) return;
              try {
                await call("DELETE", `/api/projects/${ctx.projectId}/labels/${label.id}/`);
                toast(`Deleted label ${label.name}.`);
                await load();
              } catch (err) {
                showError(error, err);
              }
            } }, "Delete"),
        ] : null)));
    }
    table.append(tbody);
  }

  function editDialog(label) {
    const { body, close } = openDialog(`Edit label ${label.name}`, { testid: "label-dialog" });
    body.append(labelForm(label, async (data, formError) => {
      try {
        await call("PATCH", `/api/projects/${ctx.projectId}/labels/${label.id}/`, { json: data });
        toast(`Saved label ${data.name}.`);
        close();
        await load();
      } catch (err) {
        showError(formError, err);
      }
    }));
  }

  return { show: load, hide() {} };
}

function skeletonSummary(label) {
  const sk = label.skeleton || {};
  if (label.shape !== "points" || !Array.isArray(sk.keypoints) || !sk.keypoints.length) return "";
  const edges = Array.isArray(sk.edges) ? sk.edges.length : 0;
  return h("span", { title: sk.keypoints.join(", ") }, `${sk.keypoints.length} keypoints, ${edges} edges`);
}

// The create / edit form. onSubmit(body, errorElement, reset) does the request.
function labelForm(label, onSubmit, defaultColor = "#ff6b00") {
  const uid = Math.random().toString(36).slice(2, 8);
  const name = h("input", { id: `label-name-${uid}`, required: true, maxlength: "100", testid: "label-name-input",
    placeholder: "e.g. person" });
  const color = h("input", { id: `label-color-${uid}`, type: "color", testid: "label-color-input" });
  const shape = h("select", { id: `label-shape-${uid}`, testid: "label-shape-input" },
    SHAPES.map(([value, text]) => h("option", { value }, text)));
  const keypoints = h("textarea", { id: `label-kp-${uid}`, rows: "6", testid: "skeleton-keypoints",
    placeholder: "one keypoint name per line\nnose\nleft_eye\n…" });
  const edges = h("textarea", { id: `label-edges-${uid}`, rows: "6", testid: "skeleton-edges",
    placeholder: "one edge per line, by name or 0-based index\nnose - left_eye\n5 - 7" });
  const preset = h("button", { class: "btn btn-small", type: "button", testid: "skeleton-coco", onclick: () => {
    showError(error, null);
    keypoints.value = COCO_KEYPOINTS.join("\n");
    edges.value = COCO_EDGES.map(([a, b]) => `${COCO_KEYPOINTS[a]} - ${COCO_KEYPOINTS[b]}`).join("\n");
  } }, "Use the COCO person skeleton (17 keypoints)");
  const skeleton = h("fieldset", { class: "skeleton-editor", testid: "skeleton-editor" },
    h("legend", {}, "Skeleton"),
    h("div", { class: "two-cols" },
      h("div", {}, h("label", { for: keypoints.id }, "Keypoints"), keypoints),
      h("div", {}, h("label", { for: edges.id }, "Edges"), edges)),
    preset);
  const attributes = h("textarea", { id: `label-attrs-${uid}`, rows: "2", testid: "label-attributes",
    placeholder: '[{"name": "occluded", "type": "bool"}]' });
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "label-form-error" });
  const submit = h("button", { class: "btn btn-primary", type: "submit", testid: "label-submit" },
    label ? "Save" : "Add label");

  const form = h("form", { class: "label-form", testid: label ? "label-edit-form" : "label-create-form" },
    h("div", { class: "form-row" },
      h("div", { class: "field" }, h("label", { for: name.id }, "Name"), name),
      h("div", { class: "field field-color" }, h("label", { for: color.id }, "Colour"), color),
      h("div", { class: "field" }, h("label", { for: shape.id }, "Shape"), shape),
      h("div", { class: "field field-button" }, submit)),
    skeleton,
    h("details", {}, h("summary", {}, "Attributes (JSON, optional)"), attributes),
    error);

  function fill(l, fallbackColor) {
    name.value = l ? l.name : "";
    color.value = l ? l.color : fallbackColor;
    shape.value = l ? l.shape : "box";
    const sk = (l && l.skeleton) || {};
    keypoints.value = Array.isArray(sk.keypoints) ? sk.keypoints.join("\n") : "";
    edges.value = Array.isArray(sk.edges) && Array.isArray(sk.keypoints)
      ? sk.edges.map(([a, b]) => `${sk.keypoints[a] ?? a} - ${sk.keypoints[b] ?? b}`).join("\n") : "";
    attributes.value = l && l.attributes && l.attributes.length ? JSON.stringify(l.attributes) : "";
    skeleton.hidden = shape.value !== "points";
  }
  fill(label, defaultColor);
  shape.addEventListener("change", () => { skeleton.hidden = shape.value !== "points"; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(error, null);
    const body = { name: name.value.trim(), color: color.value, shape: shape.value };
    try {
      if (shape.value === "points") body.skeleton = parseSkeleton(keypoints.value, edges.value);
      else if (label) body.skeleton = {};
      if (attributes.value.trim()) {
        try {
          body.attributes = JSON.parse(attributes.value);
        } catch {
          throw new Error('Attributes must be JSON, e.g. [{"name": "occluded", "type": "bool"}].');
        }
      } else if (label) body.attributes = [];
    } catch (err) {
      showError(error, err.message);
      return;
    }
    submit.disabled = true;
    try {
      await onSubmit(body, error, (nextColor) => fill(null, nextColor));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// "nose\nleft_eye" + "nose - left_eye\n0 1" -> {keypoints, edges: [[0, 1], [0, 1]]}; a clear Error otherwise.
export function parseSkeleton(keypointText, edgeText) {
  const keypoints = keypointText.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  if (!keypoints.length) throw new Error("A points label needs at least one keypoint name (one per line).");
  const seen = new Set();
  for (const k of keypoints) {
    if (seen.has(k)) throw new Error(`The keypoint "${k}" is listed twice.`);
    seen.add(k);
  }
  const index = (token, line) => {
    if (/^\d+$/.test(token)) {
      const i = Number(token);
      if (i >= keypoints.length) throw new Error(`Edge line ${line}: index ${i} is past the last keypoint (${keypoints.length - 1}).`);
      return i;
    }
    const i = keypoints.indexOf(token);
    if (i < 0) throw new Error(`Edge line ${line}: there is no keypoint named "${token}".`);
    return i;
  };
  const edges = [];
  edgeText.split("\n").forEach((raw, n) => {
    const text = raw.trim();
    if (!text) return;
    const parts = text.split(/\s*(?:–|—|->|-|,|\s)\s*/).filter(Boolean);
    if (parts.length !== 2) throw new Error(`Edge line ${n + 1}: write two keypoints, like "left_hip - left_knee".`);
    const [a, b] = parts.map((p) => index(p, n + 1));
    if (a === b) throw new Error(`Edge line ${n + 1}: an edge joins two different keypoints.`);
    edges.push([a, b]);
  });
  return { keypoints, edges };
}
