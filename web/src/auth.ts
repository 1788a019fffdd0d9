// Who the customer is and where the API is. The token arrives in the URL
// fragment (`#token=<JWT>`), which browsers never send to a server, so it
// stays out of every access log; it is kept in sessionStorage (gone with the
// tab) and wiped from the address bar at once.

const TOKEN_KEY = "cinema.token";

export interface Place {
  hash: string;
  pathname: string;
  search: string;
}

/** The token of the fragment (kept for the tab's life, then cleared from
 * the address bar by `clear`), or the one kept earlier; `null` if none. */
export function takeToken(place: Place, storage: Storage, clear: (url: string) => void): string | null {
  const fragment = new URLSearchParams(place.hash.replace(/^#/, ""));
  const token = fragment.get("token");
  if (token) {
    storage.setItem(TOKEN_KEY, token);
    fragment.delete("token");
    const rest = fragment.toString();
    clear(place.pathname + place.search + (rest ? `#${rest}` : ""));
  }
  return storage.getItem(TOKEN_KEY) || null;
}

/** Forgets the token (it was refused). */
export function dropToken(storage: Storage): void {
  storage.removeItem(TOKEN_KEY);
}

/** The API's base URL: `?api=http://host:port` when given (the app served by
 * `vite dev`), else the page's own origin (the app served by the server). */
export function apiBase(search: string, origin: string): string {
  const api = new URLSearchParams(search).get("api");
  if (api && /^https?:\/\/[^/?#]+\/?$/.test(api)) return api.replace(/\/$/, "");
  return origin;
}
