// The sandbox page: polls /sandbox/api/state, swaps in re-rendered fragments, and posts
// what the person does (commands, clicks, forms) as JSON. All HTML comes from the server,
// already escaped; this script only ever sets server fragments or textContent.
(() => {
  "use strict";
  const $ = (selector) => document.querySelector(selector);
  const POLL_MS = 1000;
  const S = {
    channel: document.body.dataset.channel || "",
    user: document.body.dataset.user || "",
    shownChannel: null,
    modalKey: null,
    modalView: null,
    replyKey: null,
    replyTs: null,
    pendingIncident: null,
    followDrill: null,
    seq: 0,
    last: {},
    history: [],
    historyAt: -1,
  };
  const regions = {
    channels: $("#channels"),
    header: $("#channel-header"),
    messages: $("#messages"),
    details: $("#details"),
    drill: $("#drill"),
    pages: $("#pages"),
  };
  const dialog = $("#modal");
  const modalForm = $("#modal-form");
  const composerStatus = $("#composer-status");

  async function post(path, data) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(data),
      });
    } catch (error) {
      return { ok: false, message: "The bot is not reachable." };
    }
    let body = {};
    try {
      body = await response.json();
    } catch (error) {
      body = { message: `HTTP ${response.status}` };
    }
    return { ...body, ok: response.ok && body.ok !== false };
  }

  function say(element, text, ok) {
    element.textContent = text || "";
    element.className = "status " + (ok ? "ok" : "error");
  }

  function answered(result) {
    // The bot took it: clear "Sending…" unless its reply is already shown there.
    if (!result.ok) say(composerStatus, result.message || "Failed", false);
    else if (composerStatus.textContent === "Sending…") say(composerStatus, "", true);
  }

  function showReply(state) {
    // The bot's newest private reply, also under the composer: the reply to a button far
    // up the channel lands at the bottom of it, out of view.
    const key = `${state.channel}|${state.user}`;
    const ts = state.reply ? state.reply.ts : null;
    if (key === S.replyKey && ts && ts !== S.replyTs) {
      composerStatus.textContent = `🤖 ${state.reply.text}`;
      composerStatus.className = "status reply";
    } else if (key !== S.replyKey && composerStatus.classList.contains("reply")) {
      say(composerStatus, "", true); // it was about the channel or person left behind
    }
    S.replyKey = key; // another channel or person: what is there already is not news
    S.replyTs = ts;
  }

  function remember() {
    const url = new URL(window.location.href);
    url.searchParams.set("channel", S.channel || "");
    url.searchParams.set("user", S.user || "");
    window.history.replaceState(null, "", url);
  }

  function follow(state) {
    // Jump to a channel we are waiting for (an event fired here, or the running drill's).
    let target = null;
    if (S.pendingIncident) {
      const found = state.channels.find((c) => c.name.startsWith(`oor-${S.pendingIncident}-`));
      if (found) {
        target = found.id;
        S.pendingIncident = null;
      }
    }
    if (S.followDrill && state.drill && state.drill.id === S.followDrill && state.drill.channel_id) {
      target = state.drill.channel_id;
      S.followDrill = null;
    }
    return target && target !== state.channel ? target : null;
  }

  async function refresh() {
    const seq = ++S.seq;
    const query = new URLSearchParams({ channel: S.channel || "", user: S.user || "" });
    let state;
    try {
      const response = await fetch(`/sandbox/api/state?${query}`, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      state = await response.json();
      $("#offline").hidden = true;
    } catch (error) {
      $("#offline").hidden = false;
      return;
    }
    if (seq !== S.seq) return; // a newer refresh is on its way
    const jump = follow(state);
    if (jump) {
      S.channel = jump;
      return refresh();
    }
    const box = regions.messages;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const switched = state.channel !== S.shownChannel;
    S.channel = state.channel || "";
    S.user = state.user || "";
    S.shownChannel = state.channel;
    for (const [name, html] of Object.entries(state.html)) {
      if (S.last[name] !== html) {
        regions[name].innerHTML = html;
        S.last[name] = html;
      }
    }
    if (switched || atBottom) box.scrollTop = box.scrollHeight;
    showReply(state);
    showModal(state.modal);
    $("#drill-start").disabled = Boolean(state.drill && state.drill.state === "running");
    remember();
  }

  function soon() {
    // The bot answers after its ack; look again shortly so replies and forms appear fast.
    refresh();
    window.setTimeout(refresh, 300);
    window.setTimeout(refresh, 800);
  }

  async function loop() {
    await refresh();
    window.setTimeout(loop, POLL_MS);
  }

  // ---------------------------------------------------------------- modals
  function showModal(modal) {
    if (!modal) {
      if (dialog.open) dialog.close();
      S.modalKey = null;
      return;
    }
    if (modal.key === S.modalKey) return; // keep what the person is typing
    S.modalKey = modal.key;
    S.modalView = modal.view_id;
    modalForm.innerHTML = modal.html;
    if (!dialog.open) dialog.showModal();
    const first = modalForm.querySelector(".has-error [name], [name]");
    if (first) first.focus();
  }

  async function closeModal() {
    const viewId = S.modalView;
    if (dialog.open) dialog.close();
    S.modalKey = null;
    if (viewId) await post("/sandbox/api/view_closed", { user: S.user, view_id: viewId });
    refresh();
  }

  modalForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = {};
    for (const field of modalForm.querySelectorAll("[name]")) values[field.name] = field.value;
    const submit = modalForm.querySelector("button[type=submit]");
    if (submit) submit.disabled = true;
    const result = await post("/sandbox/api/view_submission", {
      user: S.user,
      view_id: S.modalView,
      values,
    });
    if (result.modal) {
      S.modalKey = result.modal.key;
      S.modalView = result.modal.view_id;
      modalForm.innerHTML = result.modal.html;
      const wrong = modalForm.querySelector(".has-error [name]");
      if (wrong) wrong.focus();
    } else {
      if (dialog.open) dialog.close();
      S.modalKey = null;
    }
    if (!result.modal) answered(result);
    if (submit) submit.disabled = false;
    soon();
  });
  modalForm.addEventListener("click", (event) => {
    if (event.target.closest("[data-modal-close]")) closeModal();
  });
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    closeModal();
  });

  // ---------------------------------------------------------------- channels and buttons
  document.addEventListener("click", async (event) => {
    const channelLink = event.target.closest("a[data-channel]");
    if (channelLink) {
      event.preventDefault();
      S.channel = channelLink.dataset.channel;
      refresh();
      return;
    }
    const chip = event.target.closest("[data-fill]");
    if (chip) {
      const input = $("#command");
      input.value = chip.dataset.fill + " ";
      input.focus();
      return;
    }
    const ack = event.target.closest("button[data-pd-ack]");
    if (ack && !ack.disabled) {
      // "From the phone": the emulated PagerDuty sends the bot a signed webhook.
      ack.disabled = true;
      const result = await post("/sandbox/api/pagerduty/acknowledge", {
        page: ack.dataset.pdAck,
        user: S.user,
      });
      say($("#pages-status"), result.message || (result.ok ? "" : "Failed"), result.ok);
      soon();
      return;
    }
    const button = event.target.closest("button[data-action-id]");
    if (!button || button.disabled || dialog.contains(button)) return;
    const message = button.closest("[data-ts]");
    button.disabled = true;
    say(composerStatus, "Sending…", true);
    const result = await post("/sandbox/api/click", {
      user: S.user,
      channel: S.channel,
      ts: message ? message.dataset.ts : "",
      action_id: button.dataset.actionId,
      value: button.dataset.value || "",
    });
    answered(result);
    button.disabled = false;
    soon();
  });

  $("#user").addEventListener("change", (event) => {
    S.user = event.target.value;
    S.modalKey = null;
    refresh();
  });

  // ---------------------------------------------------------------- composer
  const input = $("#command");
  $("#composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    say(composerStatus, "Sending…", true);
    const result = await post("/sandbox/api/command", {
      user: S.user,
      channel: S.channel,
      text,
    });
    answered(result);
    if (result.ok) {
      S.history.unshift(text);
      S.historyAt = -1;
      input.value = "";
    }
    soon();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    if (!S.history.length) return;
    event.preventDefault();
    const step = event.key === "ArrowUp" ? 1 : -1;
    S.historyAt = Math.max(-1, Math.min(S.history.length - 1, S.historyAt + step));
    input.value = S.historyAt < 0 ? "" : S.history[S.historyAt];
  });

  // ---------------------------------------------------------------- event and drill
  $("#fire").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.target).entries());
    const status = $("#fire-status");
    say(status, "Sending…", true);
    const result = await post("/sandbox/api/event", data);
    say(status, result.ok ? `${result.message} — see the channel list` : result.message, result.ok);
    if (result.ok && result.status === "opened" && result.incident_id) {
      S.pendingIncident = String(result.incident_id).replace(/^OOR-/, "");
    }
    soon();
  });

  $("#drill-start").addEventListener("click", async () => {
    const status = $("#drill-status");
    const result = await post("/sandbox/api/drill", {});
    say(status, result.ok ? "" : result.message, result.ok);
    if (result.ok) S.followDrill = result.drill;
    soon();
  });

  const messages = regions.messages;
  messages.scrollTop = messages.scrollHeight;
  loop();
})();
