// The alert bar, the transient notice and the screen-reader announcer. Shows state.error:
// { text, action, retry } (messages.js words it), and offers that one action.
import { ACTIONS } from "./messages.js";

export function alertsCreate({ root, state, actions }) {
  const $ = (id) => root.querySelector(`#${id}`);
  const box = root.querySelector('[data-testid="error-message"]');
  const buttons = {
    [ACTIONS.retry]: $("error-retry"),
    [ACTIONS.reupload]: $("error-reupload"),
    [ACTIONS.rerun]: $("error-rerun"),
  };
  const signin = $("error-signin");

  state.watch(["error"], () => {
    const error = state.get("error");
    box.hidden = !error;
    if (!error) return;
    $("error-text").textContent = error.text;
    for (const [action, button] of Object.entries(buttons)) button.hidden = error.action !== action;
    // Signed out: a link that signs in in a new tab (the work stays here), then Continue retries.
    signin.hidden = error.action !== ACTIONS.signin;
    if (error.action === ACTIONS.signin) {
      buttons[ACTIONS.retry].hidden = !error.retry;
      buttons[ACTIONS.retry].textContent = "Continue";
    } else {
      buttons[ACTIONS.retry].hidden = error.action !== ACTIONS.retry || !error.retry;
      buttons[ACTIONS.retry].textContent = "Try again";
    }
  });

  const act = (action) => () => {
    const error = state.get("error");
    state.set({ error: null });
    actions[action]?.(error);
  };
  $("error-dismiss").addEventListener("click", () => state.set({ error: null }));
  buttons[ACTIONS.retry].addEventListener("click", act(ACTIONS.retry));
  buttons[ACTIONS.reupload].addEventListener("click", act(ACTIONS.reupload));
  buttons[ACTIONS.rerun].addEventListener("click", act(ACTIONS.rerun));

  let noticeTimer = null;
  return {
    announce(text) {
      $("status-live").textContent = text;
    },
    notice(text, seconds) {
      $("notice").textContent = text;
      $("notice").hidden = false;
      this.announce(text);
      clearTimeout(noticeTimer);
      noticeTimer = setTimeout(() => ($("notice").hidden = true), seconds * 1000 + 300);
    },
    noticeHide() {
      $("notice").hidden = true;
    },
  };
}
