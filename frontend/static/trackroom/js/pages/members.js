// Members tab: who is in the project with which role; add by username, change role, remove. The rules
// (managers handle annotators and viewers, owners anyone, one owner at least) are the API's: the page
// shows its sentence when it refuses.

import { badge, call, clear, confirmDialog, fmtDate, getAll, h, ROLES, showError, toast } from "./ui.js";

const ROLE_HELP = {
  viewer: "sees everything, changes nothing",
  annotator: "edits tracks and figures, starts jobs",
  manager: "also videos, labels, members, models",
  owner: "everything, including owners and deleting the project",
};

export function mountMembers(ctx, panel) {
  const table = h("table", { class: "table", testid: "members-table" });
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "members-error" });
  panel.append(h("div", { class: "section-head" }, h("h2", {}, "Members")));
  if (ctx.canManage) panel.append(addForm());
  panel.append(error, table,
    h("ul", { class: "role-help muted small" }, ROLES.slice().reverse().map((r) => h("li", {}, h("strong", {}, r), ` — ${ROLE_HELP[r]}`))));

  function addForm() {
    const username = h("input", { id: "member-username", required: true, placeholder: "username",
      autocomplete: "off", testid: "member-username" });
    const role = h("select", { id: "member-role", testid: "member-role" },
      ROLES.map((r) => h("option", { value: r }, r)));
    role.value = "annotator";
    const formError = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "member-add-error" });
    const submit = h("button", { class: "btn btn-primary", type: "submit", testid: "member-add" }, "Add member");
    const form = h("form", { class: "form-row", testid: "member-form" },
      h("div", { class: "field" }, h("label", { for: "member-username" }, "Username"), username),
      h("div", { class: "field" }, h("label", { for: "member-role" }, "Role"), role),
      h("div", { class: "field field-button" }, submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(formError, null);
      submit.disabled = true;
      try {
        const m = await call("POST", `/api/projects/${ctx.projectId}/members/`,
          { json: { username: username.value.trim(), role: role.value } });
        toast(`Added ${m.username} as ${m.role}.`);
        username.value = "";
        await load();
      } catch (err) {
        showError(formError, err);
      } finally {
        submit.disabled = false;
      }
    });
    return h("div", { class: "panel" }, h("h3", {}, "Add a member"), form, formError);
  }

  async function load() {
    try {
      const members = await getAll(`/api/projects/${ctx.projectId}/members/`);
      showError(error, null);
      render(members);
    } catch (err) {
      showError(error, err, "The member list");
    }
  }

  function render(members) {
    clear(table);
    table.append(h("thead", {}, h("tr", {}, ["User", "Role", "Member since", ""].map((t) => h("th", {}, t)))));
    const tbody = h("tbody");
    for (const m of members) {
      const isMe = m.user === ctx.me.id;
      let roleCell;
      if (ctx.canManage) {
        roleCell = h("select", { testid: "member-role-select", "aria-label": `Role of ${m.username}` },
          ROLES.map((r) => h("option", { value: r }, r)));
        roleCell.value = m.role;
        roleCell.addEventListener("change", async () => {
          showError(error, null);
          try {
            await call("PATCH", `/api/projects/${ctx.projectId}/members/${m.id}/`, { json: { role: roleCell.value } });
            toast(`${m.username} is now ${roleCell.value}.`);
            if (isMe) window.location.reload(); // your own rights changed
            else await load();
          } catch (err) {
            roleCell.value = m.role;
            showError(error, err);
          }
        });
      } else {
        roleCell = badge(m.role, `role-${m.role}`);
      }
      tbody.append(h("tr", { testid: "member-row", dataset: { username: m.username, role: m.role } },
        h("td", {}, h("span", { class: "avatar-sm", "aria-hidden": "true" }, m.username.slice(0, 1)), " ",
          h("span", { testid: "member-name" }, m.username), isMe ? h("span", { class: "muted small" }, " (you)") : null),
        h("td", {}, roleCell),
        h("td", { class: "small muted" }, fmtDate(m.created_at)),
        h("td", { class: "row-actions" }, ctx.canManage ? h("button", { class: "btn btn-small btn-danger-outline",
          type: "button", testid: "member-remove", onclick: async () => {
            if (!await confirmDialog(`Remove ${m.username} from this project?`, { confirmText: "Remove" })) return;
            try {
              await call("DELETE", `/api/projects/${ctx.projectId}/members/${m.id}/`);
              toast(`Removed ${m.username}.`);
              if (isMe) window.location.assign("/");
              else await load();
            } catch (err) {
              showError(error, err);
            }
          } }, "Remove") : null)));
    }
    table.append(tbody);
  }

  return { show: load, hide() {} };
}
