// Projects list: the cards are rendered by the server; this creates a project and opens it.

import { api } from "../api.js";
import { showError } from "./ui.js";

const form = document.getElementById("create-project-form");
const errorBox = document.querySelector('[data-testid="create-project-error"]');

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(errorBox, null);
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const project = await api.post("/api/projects/", {
      name: form.elements.name.value.trim(),
      description: form.elements.description.value.trim(),
    });
    window.location.assign(`/projects/${project.id}/`);
  } catch (err) {
    showError(errorBox, err);
    button.disabled = false;
  }
});
