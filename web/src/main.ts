// The seat map app: signs in with the token of the link, then shows the
// upcoming sessions, the chosen session's live map and the purchases.

import "./style.css";
import { connect } from "./api";
import { apiBase, dropToken, takeToken } from "./auth";
import { h } from "./dom";
import { PurchasesList, SessionsList } from "./lists";
import { seatDefs } from "./map-view";
import { SessionPage } from "./session-page";

const app = document.getElementById("app")!;
const token = takeToken(location, sessionStorage, (url) => history.replaceState(history.state, "", url));

if (!token) {
  app.replaceChildren(
    h(
      "section",
      { class: "signin" },
      h("h2", {}, "Open the link the demo printed"),
      h("p", {}, "This page needs your sign-in link: it ends in #token=…"),
    ),
  );
} else {
  const api = connect(apiBase(location.search, location.origin), token, () => dropToken(sessionStorage));
  const main = h("main", { class: "stage" }, h("p", { class: "hint placeholder" }, "Pick a session to see its seats."));
  let page: SessionPage | undefined;
  const refresh = () => {
    void purchases.refresh();
    void sessions.refresh();
  };
  const purchases = new PurchasesList(api);
  const sessions = new SessionsList(api, (session) => {
    page?.destroy();
    page = new SessionPage(api, session, {
      purchased: refresh,
      cancelled: refresh,
    });
    main.replaceChildren(page.element);
  });
  app.replaceChildren(seatDefs(), h("div", { class: "layout" }, h("aside", {}, sessions.element, purchases.element), main));
  void sessions.refresh();
  void purchases.refresh();
}
